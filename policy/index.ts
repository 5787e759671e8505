/**
 * The homeiq-security policy pack: `pulumi preview --policy-pack ./policy`.
 *
 * Constructing a PolicyPack starts the analyzer's gRPC server, so this file does nothing else; the
 * policies live in ./policies.ts (tested offline through evaluatePolicies) and the exceptions in
 * ./exceptions.ts. Enforcement is mandatory unless the pack config downgrades a policy
 * (see ./config/dev.json and ./config/prod.json).
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
    description:
        "HomeIQ's security checklist as code: non-root, no-new-privileges, capabilities, limits, PIDs limits, health checks, " +
        "log rotation, restart policy, exposure, Docker socket, placeholder credentials and data-volume retention.",
    enforcementLevel: PACK_ENFORCEMENT_LEVEL,
    policies,
});
