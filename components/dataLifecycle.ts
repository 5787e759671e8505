/**
 * The data lifecycle around the containers, as the plan lists it (plan/resolve.ts): the
 * host-ports check before any container, the pre-change backup before any stateful container can
 * change, the volume handover and the restore before the SQLite services, the bucket's retention
 * once InfluxDB (and any restore) is done, the final and on-demand backups once the stateful
 * containers exist.
 *
 * It owns the ordering: each step is created as soon as everything it runs after exists, and
 * `gatesOf(service)` gives the steps a service must wait for. The platform only tells it when a
 * container is registered (`started`). Its steps are the platform's children, as they always were,
 * so their URNs do not depend on this class.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceKey } from "../catalog/services";
import type { LifecycleStep, LifecycleStepKind, StepRef } from "../plan/plan";
import type { BackupWiring } from "./backupScripts";
import { BackupSchedule } from "./backupSchedule";
import { HostPortsCheck } from "./hostPortsCheck";
import { InfluxRetention } from "./influxRetention";
import { RestoreFromBackup } from "./restoreFromBackup";
import { StackBackup } from "./stackBackup";
import { VolumeHandover } from "./volumeHandover";

/** Each step's resource name after the platform's name (unchanged from before the plan: part of the URNs). */
const RESOURCE_SUFFIX: Record<LifecycleStepKind, string> = {
    "backup-schedule": "backup-schedule",
    "host-ports-check": "host-ports",
    "pre-change-backup": "pre-change-backup",
    "volume-handover": "volume-handover",
    restore: "restore",
    "influxdb-retention": "influxdb-retention",
    "final-backup": "final-backup",
    "on-demand-backup": "on-demand-backup",
};

type StepComponent = HostPortsCheck | StackBackup | VolumeHandover | RestoreFromBackup | InfluxRetention | BackupSchedule;

/**
 * A digest of everything the stateful containers are given (their inputs, resolved, secrets
 * included, so the digest is secret too) and the restore folder named: the pre-change backup's
 * trigger, so it runs right before any of them changes and before each restore.
 */
export function statefulSpecDigest(specs: readonly { readonly args: object }[], restoreFrom: string): pulumi.Output<string> {
    return pulumi.output(specs.map((s) => s.args)).apply((resolved) => createHash("sha256").update(JSON.stringify([resolved, restoreFrom])).digest("hex"));
}

export interface DataLifecycleArgs {
    readonly steps: readonly LifecycleStep[];
    readonly wiring: BackupWiring;
    /** The inputs of a service's container (or swarm service), as it gets them (the pre-change backup's trigger hashes them). */
    readonly specOf: (service: ServiceKey) => { readonly args: object };
}

export class DataLifecycle {
    private readonly created = new Map<LifecycleStepKind, StepComponent>();
    private readonly containers = new Map<ServiceKey, pulumi.Resource>();

    constructor(
        private readonly name: string,
        private readonly parent: pulumi.ComponentResource,
        private readonly args: DataLifecycleArgs,
    ) {
        this.createDue();
    }

    /** The steps `service` starts after; each is created by the time its first service asks. */
    gatesOf(service: ServiceKey): pulumi.Resource[] {
        return this.args.steps
            .filter((s) => s.before.includes(service))
            .map((s) => {
                const step = this.created.get(s.kind);
                if (!step) throw new pulumi.ResourceError(`${s.kind} must run before ${service}, but waits for ${JSON.stringify(s.after)}`, this.parent);
                return step.command;
            });
    }

    /** `service`'s container is registered: the steps that were waiting for it are created. */
    started(service: ServiceKey, container: pulumi.Resource): void {
        this.containers.set(service, container);
        this.createDue();
    }

    /** Every step, once every container is registered; throws if one is still waiting. */
    finish(): ReadonlyMap<LifecycleStepKind, StepComponent> {
        const waiting = this.args.steps.filter((s) => !this.created.has(s.kind));
        if (waiting.length > 0) throw new pulumi.ResourceError(`lifecycle steps never became ready: ${waiting.map((s) => s.kind).join(", ")}`, this.parent);
        return this.created;
    }

    private ready(ref: StepRef): pulumi.Resource | undefined {
        return "service" in ref ? this.containers.get(ref.service) : this.created.get(ref.step)?.command;
    }

    private createDue(): void {
        for (const step of this.args.steps) {
            if (this.created.has(step.kind)) continue;
            const after = step.after.map((ref) => this.ready(ref));
            if (after.every((r) => r !== undefined)) this.created.set(step.kind, this.create(step, after as pulumi.Resource[]));
        }
    }

    private create(step: LifecycleStep, after: pulumi.Resource[]): StepComponent {
        const name = `${this.name}-${RESOURCE_SUFFIX[step.kind]}`;
        const opts = { parent: this.parent };
        const { wiring } = this.args;
        switch (step.kind) {
            case "host-ports-check":
                return new HostPortsCheck(name, { step, helperImage: this.imageOf(step.helperImageOf) }, opts);
            case "pre-change-backup": {
                const trigger = statefulSpecDigest(step.stateful.map(this.args.specOf), step.restoreFrom ?? "");
                return new StackBackup(name, { moment: "pre-change", target: step.target, wiring, triggers: [trigger] }, opts);
            }
            case "volume-handover":
                return new VolumeHandover(name, { step, helperImage: this.imageOf(step.helperImageOf), after }, opts);
            case "restore":
                return new RestoreFromBackup(
                    name,
                    { step, influxToken: wiring.influxToken, helperImage: step.helperImageOf && this.imageOf(step.helperImageOf), after },
                    opts,
                );
            case "influxdb-retention":
                return new InfluxRetention(name, { step, token: wiring.influxToken, after }, opts);
            case "final-backup":
                return new StackBackup(name, { moment: "final", target: step.target, wiring, after }, opts);
            case "backup-schedule":
                return new BackupSchedule(name, { step, wiring, after }, opts);
            case "on-demand-backup":
                return new StackBackup(name, { moment: "on-demand", target: step.target, wiring, triggers: [step.request], after }, opts);
        }
    }

    private imageOf(service: ServiceKey): pulumi.Input<string> {
        const image = this.args.wiring.images[service];
        if (image === undefined) throw new pulumi.ResourceError(`no image for ${service}`, this.parent);
        return image;
    }
}
