/**
 * A stack profile: everything in which dev and prod are allowed to differ, as data.
 * Components never ask which stack they are in; they read the resolved profile.
 * The profile a stack uses is chosen by the `homeiq:profile` config key.
 */
import { z } from "zod";
import { SERVICE_KEYS } from "../catalog/services";
import { CPUS, MEMORY_MIB, MEMORY_RESERVATION_MIB, PIDS_LIMIT } from "../catalog/rules";

export const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"] as const;
export const RESTART_POLICIES = ["unless-stopped", "always", "on-failure"] as const;

export const ServiceResourcesSchema = z
    .object({
        /** Hard memory limit, MiB (the docker provider's `memory`); bounds as for homeiq:resourceOverrides. */
        memoryMiB: z.number().int().min(MEMORY_MIB.min).max(MEMORY_MIB.max),
        /** Soft reservation, MiB; must not exceed the limit. */
        memoryReservationMiB: z.number().int().min(MEMORY_RESERVATION_MIB.min).max(MEMORY_RESERVATION_MIB.max),
        /** CPU limit in cores, e.g. 0.5. */
        cpus: z.number().min(CPUS.min).max(CPUS.max),
    })
    .strict()
    .refine((r) => r.memoryReservationMiB <= r.memoryMiB, { error: "memoryReservationMiB is above memoryMiB" });

export type ServiceResources = z.infer<typeof ServiceResourcesSchema>;

export const HardeningSchema = z
    .object({
        /** `no-new-privileges=true` on every container. */
        noNewPrivileges: z.boolean(),
        /** Drop ALL capabilities, then add back only the catalog's justified additions. */
        dropAllCapabilities: z.boolean(),
        /** Read-only root filesystem (plus tmpfs) for every service the catalog marks capable. */
        readOnlyRootFilesystem: z.boolean(),
        /** Run every service the catalog can run as non-root under its non-root user. */
        runAsNonRoot: z.boolean(),
        /**
         * The AppArmor profile every container runs under (`apparmor=<name>` in securityOpts), or null for the
         * engine's choice. An engine on a host without AppArmor ignores it (moby daemon/oci_linux.go WithApparmor
         * applies a profile only when apparmor.HostSupports()); the validation gate says which is in force.
         */
        appArmorProfile: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/).nullable(),
    })
    .strict();

export const ProfileSchema = z
    .object({
        description: z.string().min(1),
        logLevel: z.enum(LOG_LEVELS),
        logRotation: z.object({ maxSizeMiB: z.number().int().positive(), maxFiles: z.number().int().positive() }).strict(),
        restartPolicy: z.enum(RESTART_POLICIES),
        /** Added to each service's default host port, so two stacks can share one Docker host. */
        hostPortOffset: z.number().int().min(0).max(50000),
        /** Host address every published port binds to, except the dashboard's. */
        publishBindAddress: z.union([z.ipv4(), z.ipv6()]),
        /** Default bind address of the dashboard; `homeiq:dashboardBindAddress` overrides it. */
        dashboardBindAddress: z.union([z.ipv4(), z.ipv6()]),
        hardening: HardeningSchema,
        /** ENABLE_AUTH for admin-api and data-api. */
        enableAuth: z.boolean(),
        cors: z
            .object({
                /** Default allowed origins; `homeiq:corsOrigins` overrides them. */
                origins: z.array(z.string()).min(1),
                /** Whether `*` is acceptable in this profile. */
                allowWildcard: z.boolean(),
            })
            .strict(),
        /**
         * Processes and threads each container may hold (its PIDs cgroup limit), unless the catalog gives the
         * service its own (`security.pidsLimit`, with the reason). A fork bomb in one service then cannot take the host.
         */
        pidsLimit: z.number().int().min(PIDS_LIMIT.min).max(PIDS_LIMIT.max),
        /** Keep data volumes in Docker when Pulumi deletes them (`retainOnDelete`). */
        retainDataVolumes: z.boolean(),
        /** The Docker API proxy's limits (catalog DOCKER_API_PROXY), deployed when a service reads the engine. */
        dockerApiProxyResources: ServiceResourcesSchema,
        resources: z.object(Object.fromEntries(SERVICE_KEYS.map((k) => [k, ServiceResourcesSchema])) as {
            [K in (typeof SERVICE_KEYS)[number]]: typeof ServiceResourcesSchema;
        }).strict(),
    })
    .strict();

export type StackProfile = z.infer<typeof ProfileSchema>;

/**
 * `profile` parsed by ProfileSchema (what the program then uses), or an Error naming the profile's
 * file and every field that is wrong.
 */
export function parseProfile(name: string, profile: unknown): StackProfile {
    const parsed = ProfileSchema.safeParse(profile);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map((i) => `  - ${i.path.join(".") || "(profile)"}: ${i.message}`);
    throw new Error(`stacks/${name}.ts: the ${name} profile is not valid:\n${problems.join("\n")}`);
}
