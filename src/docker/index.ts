/**
 * The Docker plugin (issue 14): weft as a libnetwork remote network driver and remote IPAM
 * driver named `weft`, served on a unix socket dockerd discovers (/run/docker/plugins/weft.sock).
 * The daemon builds it (src/daemon/docker-service.ts) and hands it the IPAM, the one attach path
 * (AttachService, in handoff mode: Docker moves the veth itself), a state store in the data dir
 * and a Docker Engine API client for container names and labels. Protocol schemas: src/api.
 * Usage and the identity labels: docs/docker.md.
 */
export {
  DockerPlugin, ownerOf as dockerEndpointOwner, GATEWAY_REQUEST, GATEWAY_SERVICE_OPTION, DOCKER_OWNER_PREFIX,
  type DockerPluginDeps, type DockerAddressSource, type DockerEndpointPlumbing, type DockerJoinSpec, type DockerStateStore,
} from './plugin.js';
export { DockerPluginServer, type DockerPluginServerOptions, type DockerBadInputReason } from './server.js';
export { DockerEngine, type EngineLookup, type EngineContainer } from './engine.js';
export { containerIdentity, NAMESPACE_LABEL, NAME_LABEL, type ContainerIdentity } from './identity.js';
