/**
 * Docker names and labels. Every real Docker name starts with the stack, so dev and prod can
 * share one Docker host without colliding.
 */
import type { ServiceKey, VolumeKey } from "../catalog/services";

export const LABEL_SERVICE = "com.homeiq.service";
export const LABEL_STACK = "com.homeiq.stack";
export const LABEL_VOLUME = "com.homeiq.volume";
export const LABEL_DATA = "com.homeiq.data";
export const LABEL_REBUILD_GENERATION = "com.homeiq.rebuild-generation";
export const LABEL_RESTORED_FROM = "com.homeiq.restored-from";
/** On a swarm task: no-new-privileges comes from the nodes' daemons, which the swarm preflight requires (policy/policies.ts reads it). */
export const LABEL_NODE_NO_NEW_PRIVILEGES = "com.homeiq.no-new-privileges";
/** On a swarm task: the built image ids (one per node that builds it), so a rebuild changes the task spec and swarm rolls the service. */
export const LABEL_IMAGE_IDS = "com.homeiq.image-ids";
/**
 * The container's PIDs limit. @pulumi/docker 5.x has no input for it (the bridged terraform-provider-docker
 * v4.5.0 never sets HostConfig.PidsLimit), so the container declares it here and the PidsLimits Command
 * applies it with `docker update --pids-limit` (components/pidsLimits.ts); the policy pack checks the label.
 */
export const LABEL_PIDS_LIMIT = "com.homeiq.pids-limit";
/** homeiq:lanAccess: why the container's port is published on a LAN address (the policy pack allows exactly these). */
export const LABEL_LAN_ACCESS = "com.homeiq.lan-access";
/** The ids of the containers a service resolves at start (catalog `replaceWithDependencies`). */
export const LABEL_DEPENDENCY_IDS = "com.homeiq.dependency-ids";

export const containerName = (stack: string, service: ServiceKey): string => `${stack}-${service}`;
export const volumeName = (stack: string, volume: VolumeKey): string => `${stack}-${volume}`;
export const networkName = (stack: string): string => `${stack}-homeiq`;
/** The internal network that only the Docker API proxy and its clients join. */
export const dockerApiNetworkName = (stack: string): string => `${stack}-docker-api`;
export const builtImageName = (stack: string, service: ServiceKey): string => `homeiq-${stack}-${service}:local`;
