/**
 * The whole API contract and its transport: every route of the daemon's control API
 * (HTTP/JSON over a 0600 unix socket) declared once — API_ROUTES names method and path,
 * routes.ts adds each route's request and reply schema (typebox) — plus the server that
 * validates requests against them, a typed client, and the read-only status listener.
 * No business logic: the daemon registers handlers by route object.
 *
 * Loading this index does not load typebox: the server loads the schemas on start(), and
 * request/reply types are type-only, so the CNI plugins pay nothing for them.
 *
 * Typical daemon wiring:
 *   const api = new ApiServer({ socketPath, logger, onBadInput });
 *   api.handle(API_ROUTES.connect, ({ request }) => connect(request.peers));  // request typed, validated
 *   await api.start();              // WEFT_ERR_ALREADY_RUNNING if a daemon owns the socket
 *   … await api.stop();
 * and a client:
 *   const reply = await new ApiClient({ socketPath }).call(API_ROUTES.attach, { netns });  // reply typed
 */
export {
  ApiServer, type ApiServerOptions, type TypedHandler, type TypedRequest, type ApiBadInputReason,
} from './api-server.js';
export { StatusServer, type StatusServerOptions } from './status-server.js';
export { ApiClient, type ApiClientOptions, type RequestArgs } from './api-client.js';
export { type HttpMethod, type RouteHandler, type RouteRequest } from './router.js';
export { httpStatusForError } from './http-json.js';
export { probeSocket, checkSocketPath, prepareSocketPath, type SocketProbe } from './socket-file.js';
export { HttpListener, type ListenSteps } from './listen.js';
export type { DockerPluginPath, DockerPluginRequest, DockerPluginState } from './docker-plugin.js';
export { loadDockerPluginProtocol, type DockerPluginProtocol } from './docker-plugin-load.js';
export { parseHostPort, formatHostPort, type HostPort, type HostPortRules } from './host-port.js';
export { parsePeerList } from './requests.js';
export { API_ROUTES, type RouteName, type RouteRef } from './route-table.js';
export { type FlowSource, NDJSON } from './flow-route.js';
export {
  DROP_REASONS, VERDICTS, FLOW_PATHS, FLOW_EVENTS, type DropReason, type Verdict, type FlowPath, type FlowEvent,
} from './flow-codes.js';
export type {
  FlowRecord, FlowEndpoint, FlowPolicy, FlowQuery, FlowQueryReply, FlowStreamLine,
} from './flow-schema.js';
export { MAX_PEERS_PER_CALL, MAX_OWNER_LENGTH } from './route-limits.js';
export type { RequestOf, ReplyOf, RouteDef, Routes } from './routes.js';
export type {
  StatusReport, StatusPeer, StatusConnection, StatusTarget, IpamStatusSection, DataplaneStatus, PolicyStatus, DnsStatus,
  AttachRequest, PodIdentityView, PolicyListReply,
  ApiErrorBody, Readiness, ConnectRequest, ForgetRequest,
  AllocateRequest, AllocateReply, ReleaseRequest, ReleaseReply, GcRequest, GcReply, NetworkInfo,
  AttachReply, ListedEndpoint, WorkloadsReply, WorkloadPod,
} from './types.js';
