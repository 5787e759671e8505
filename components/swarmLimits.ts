/**
 * A swarm service's PIDs limit and ulimits (CIS Docker Benchmark 5.29, InfluxDB's open files), which
 * @pulumi/docker's Service cannot carry: terraform-provider-docker v4.5.0's task resources have only
 * nano_cpus and memory_bytes (resource_docker_service.go:537-556, createResources in
 * resource_docker_service_structures.go:1004-1022; the read-back's `// TODO mavogel add pids`, :416-417)
 * and its container spec has no ulimits. The Engine API has both since 1.41.
 *
 * A Command after the service sets them through the Engine API's service update
 * (scripts/swarm/limits.sh), so they are in the service's spec and every task swarm starts has them.
 * The provider's own update sends a whole spec built from its inputs (resource_docker_service_funcs.go:180-192),
 * which drops them; so the Command's triggers are the service's id and a digest of its outputs (what the
 * provider last sent): it runs again after every create, replacement or update of the service, also the
 * update that retries one swarm rolled back (Pulumi keeps the failed update's values as outputs, so the
 * retry changes them back, though the program's inputs are the same). The provider's read-back has no
 * such fields (structures.go:410-421), so an `up` without changes sees no diff and runs nothing; a run
 * that finds the limits in the spec already changes nothing. The cost:
 * setting them is a rolling update, so a created or changed service's task is replaced once more
 * (health-gated; rolled back, failing the step, if unhealthy). A spec that already has them is left alone.
 */
import { createHash } from "crypto";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServicePlan } from "../plan/plan";
import { ulimitsWords } from "../plan/swarm";
import { scriptCommand, SCRIPTS } from "./scriptCommand";

/** How long the limits' update may take: the task's health wait, the update's monitor (10 s) and the provider-like margin. */
export const limitsTimeoutSeconds = (sp: ServicePlan): number => sp.healthWaitSeconds + 30;

export interface SwarmLimitsArgs {
    readonly dockerHost: string;
    readonly plan: ServicePlan;
    /** The swarm service's name. */
    readonly serviceName: string;
    readonly service: docker.Service;
}

/** The Command that gives `args.service` its limits after the provider created or changed it. */
export function swarmLimitsCommand(name: string, args: SwarmLimitsArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    // Every output a provider update sends (convergeConfig only steers its wait).
    const s = args.service;
    const sent = pulumi.all([s.name, s.labels, s.taskSpec, s.mode, s.updateConfig, s.rollbackConfig, s.endpointSpec]);
    const specDigest = sent.apply((resolved) => createHash("sha256").update(JSON.stringify(resolved)).digest("hex"));
    const limits = { HOMEIQ_PIDS_LIMIT: String(args.plan.hardening.pidsLimit), HOMEIQ_ULIMITS: ulimitsWords(args.plan) };
    return new command.local.Command(
        name,
        {
            create: scriptCommand(SCRIPTS.swarmLimits),
            environment: {
                DOCKER_HOST: args.dockerHost,
                HOMEIQ_SERVICE: args.serviceName,
                ...limits,
                HOMEIQ_TIMEOUT_SECONDS: String(limitsTimeoutSeconds(args.plan)),
            },
            // A digest, never the values (kept secret: they hold secrets); it changes whenever the provider updated the service.
            triggers: [args.service.id, specDigest],
            logging: "stdoutAndStderr",
        },
        { ...opts, dependsOn: [args.service] },
    );
}
