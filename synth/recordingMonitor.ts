/**
 * A MockMonitor that also records what the engine would see in each RegisterResource call: the
 * inputs, the dependencies and the resource options (setMockOptions accepts any monitor).
 */
// MockMonitor is exported by the mocks module, though not re-exported from pulumi.runtime.
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

/** The resource options the engine receives that a reviewer cares about. */
export interface RecordedOptions {
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly ignoreChanges: string[];
    readonly replaceOnChanges: string[];
    readonly additionalSecretOutputs: string[];
}

export interface RecordedRegistration {
    readonly type: string;
    readonly name: string;
    readonly parent: string;
    readonly custom: boolean;
    /** The serialized inputs (secrets still wrapped in Pulumi's secret sentinel). */
    readonly inputs: Record<string, unknown>;
    readonly dependencies: string[];
    readonly options: RecordedOptions;
    urn?: string;
}

// The request type is generated protobuf code; only the getters used here are declared.
interface RegisterResourceRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
    getDependenciesList(): string[];
    getProtect(): boolean;
    getRetainondelete?(): boolean;
    getDeletebeforereplace(): boolean;
    getIgnorechangesList(): string[];
    getReplaceonchangesList(): string[];
    getAdditionalsecretoutputsList(): string[];
}

type Callback = (err: unknown, response: { getUrn(): string } | undefined) => void;

export class RecordingMonitor extends MockMonitor {
    readonly registrations: RecordedRegistration[] = [];

    /** The latest registration of a resource (the one being created when the mocks are called). */
    registrationOf(type: string, name: string): RecordedRegistration {
        const found = [...this.registrations].reverse().find((r) => r.type === type && r.name === name);
        if (!found) throw new Error(`no registration recorded for ${type} ${name}`);
        return found;
    }

    override async registerResource(req: RegisterResourceRequest, callback: Callback): Promise<void> {
        const record: RecordedRegistration = {
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent(),
            custom: req.getCustom(),
            inputs: req.getObject()?.toJavaScript() ?? {},
            dependencies: [...req.getDependenciesList()],
            options: {
                protect: req.getProtect(),
                retainOnDelete: req.getRetainondelete?.() ?? false,
                deleteBeforeReplace: req.getDeletebeforereplace(),
                ignoreChanges: [...req.getIgnorechangesList()],
                replaceOnChanges: [...req.getReplaceonchangesList()],
                additionalSecretOutputs: [...req.getAdditionalsecretoutputsList()],
            },
        };
        this.registrations.push(record);
        return super.registerResource(req, (err: unknown, response: { getUrn(): string } | undefined) => {
            if (response) record.urn = response.getUrn();
            callback(err, response);
        });
    }
}
