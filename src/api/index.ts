/**
 * The operator surface's transport: the daemon's control API (HTTP/JSON over a 0600 unix
 * socket), the read-only status/metrics listener, a client for the socket, and the JSON
 * shapes they exchange. No business logic: the daemon registers handlers and providers.
 *
 * Typical daemon wiring:
 *   const api = new ApiServer({ socketPath, logger });
 *   api.route('GET', API_PATHS.status, () => buildStatus());
 *   api.route('POST', API_PATHS.connect, ({ body }) => connect(parseConnectRequest(body)));
 *   await api.start();              // WEFT_ERR_ALREADY_RUNNING if a daemon owns the socket
 *   … await api.stop();
 */
export { ApiServer, type ApiServerOptions } from './api-server.js';
export { StatusServer, type StatusServerOptions } from './status-server.js';
export { ApiClient, type ApiClientOptions } from './api-client.js';
export { type HttpMethod, type RouteHandler, type RouteRequest } from './router.js';
export { httpStatusForError } from './http-json.js';
export { probeSocket, checkSocketPath, type SocketProbe } from './socket-file.js';
export { parseHostPort, formatHostPort, type HostPort, type HostPortRules } from './host-port.js';
export { parsePeerList, parseConnectRequest, parseForgetRequest } from './requests.js';
export {
  API_PATHS,
  type StatusReport, type StatusPeer, type StatusConnection, type StatusTarget,
  type ApiErrorBody, type ConnectRequest, type ForgetRequest, type Readiness,
} from './types.js';
export {
  IPAM_PATHS,
  type AllocateRequest, type AllocateReply, type ReleaseRequest, type ReleaseReply,
  type GcRequest, type GcReply, type NetworkInfo,
} from './ipam-types.js';
