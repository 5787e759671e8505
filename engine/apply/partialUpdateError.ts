/**
 * An update that failed after the provider had changed the resource (a swarm update rolled back, or
 * one that did not converge): terraform-plugin-sdk returns the planned state with the error
 * (v2.40.1 helper/schema/resource.go:990-994; resource_data.go:457-462 takes the new values unless the
 * provider set Partial, which tf-docker does not), the bridge passes it on as outputs with init errors
 * (pkg/tfbridge/provider.go:1742-1758, 1793 initializationError), and the engine saves the OLD inputs
 * with those outputs and the init errors (pulumi pkg/engine/update.go:1398-1414, pkg/resource/deploy/step.go:1036-1038, 1090-1094).
 */
export class PartialUpdateError extends Error {
    constructor(
        message: string,
        readonly id: string,
        /** The outputs the engine saves: the new values as the provider reads them back. */
        readonly state: Record<string, unknown>,
    ) {
        super(message);
    }
}
