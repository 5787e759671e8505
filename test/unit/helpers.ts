/** Test helpers over the offline synth: run a stack, then read its graph like a reviewer would. */
import { ConfigValidationError } from "../../config/loadConfig";
import { synthesize, type SynthOptions, type SynthResource, type SynthResult } from "../../synth/synthesize";

export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";
export const NETWORK = "docker:index/network:Network";
export const COMMAND = "command:local:Command";

const cache = new Map<string, Promise<SynthResult>>();

/** The synth of a committed stack file, computed once per test file. */
export function synthStack(stack: string): Promise<SynthResult> {
    if (!cache.has(stack)) cache.set(stack, synthesize(stack));
    return cache.get(stack) as Promise<SynthResult>;
}

export function ofType(result: SynthResult, type: string): SynthResource[] {
    return result.resources.filter((r) => r.type === type);
}

export function labelOf(resource: SynthResource, label: string): string | undefined {
    const labels = (resource.inputs.labels ?? []) as Array<{ label: string; value: string }>;
    return labels.find((l) => l.label === label)?.value;
}

/** Containers by their com.homeiq.service label. */
export function containersByService(result: SynthResult): Map<string, SynthResource> {
    return new Map(ofType(result, CONTAINER).map((c) => [labelOf(c, "com.homeiq.service") as string, c]));
}

export function envOf(container: SynthResource): Map<string, string> {
    const envs = (container.inputs.envs ?? []) as string[];
    return new Map(
        envs.map((e) => {
            const i = e.indexOf("=");
            return i < 0 ? [e, e] : [e.slice(0, i), e.slice(i + 1)];
        }),
    );
}

/** Runs a stack with config changes and returns the validation error it must raise, plus how many resources were registered. */
export async function expectConfigError(
    stack: string,
    overrides: Record<string, string | undefined>,
    extra: Partial<SynthOptions> = {},
): Promise<{ error: ConfigValidationError; registered: number }> {
    let registered = -1;
    try {
        await synthesize(stack, {
            ...extra,
            configOverrides: overrides,
            onMonitor: (m) => {
                registered = 0;
                const push = m.registrations.push.bind(m.registrations);
                m.registrations.push = (...items) => {
                    registered += items.length;
                    return push(...items);
                };
            },
        });
    } catch (error) {
        if (error instanceof ConfigValidationError) return { error, registered };
        throw error;
    }
    throw new Error(`expected stack ${stack} with ${JSON.stringify(overrides)} to fail config validation`);
}

/**
 * For the describe block it is called in: the SDK captures a stack trace for every promise (used
 * only for its leak report), and source-map-support rewrites each; without them a synth is about 5x
 * faster. Restored afterwards.
 */
export function withoutPromiseStackTraces(): void {
    const limit = Error.stackTraceLimit;
    beforeAll(() => {
        Error.stackTraceLimit = 0;
    });
    afterAll(() => {
        Error.stackTraceLimit = limit;
    });
}
