/**
 * The engine applier's partial-failure errors. Their own module, as runProcess (process.ts): the drivers
 * that liveResources.ts imports for DRIVERS (swarmResources.ts) throw them, and an import back from
 * liveResources.ts would be a cycle in which whichever module a caller imported first saw the other
 * half-loaded (DRIVERS without the swarm drivers).
 */
import type { Props } from "./liveResources";

/**
 * A create that failed after the resource existed (a health wait that timed out): the provider has
 * set the id, so the bridge keeps it as a partially created resource with init errors
 * (pulumi-terraform-bridge pkg/tfbridge/provider.go:1362-1376, 1413 initializationError). Its state
 * is what the provider had before reading back (funcs.go:614-621 returns before the read at :673).
 */
export class PartialCreateError extends Error {
    constructor(
        message: string,
        readonly id: string,
        readonly state: Props,
    ) {
        super(message);
    }
}

/**
 * An update that failed after the provider had changed the resource (a swarm update rolled back, or
 * one that did not converge): terraform-plugin-sdk returns the planned state with the error
 * (v2.40.1 helper/schema/resource.go:990-994; resource_data.go:457-462 takes the new values unless the
 * provider set Partial, which tf-docker does not), the bridge passes it on as outputs with init errors
 * (pkg/tfbridge/provider.go:1742-1758, 1793 initializationError), and the engine saves the OLD inputs
 * with those outputs and the init errors (pulumi pkg/engine/update.go:1398-1414, pkg/resource/deploy/step.go:1036-1038, 1090-1094).
 */
export class PartialUpdateError extends PartialCreateError {}
