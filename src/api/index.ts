/**
 * The operator surface's transport: the daemon's control API (HTTP/JSON over a 0600 unix
 * socket), the read-only status/metrics listener, a client for the socket, and the JSON
 * shapes they exchange. No business logic: the daemon registers handlers and providers.
 *
 * The whole contract is ROUTES (routes.ts): method, path, request and reply schema of every
 * route, in valibot. Typical daemon wiring:
 *   const api = new ApiServer({ socketPath, logger });
 *   api.serve(ROUTES.status, () => buildStatus());
 *   api.serve(ROUTES.connect, ({ input }) => connect(input.peers, input.replace));
 *   await api.start();              // WEFT_ERR_ALREADY_RUNNING if a daemon owns the socket
 *   … await api.stop();
 */
export { ApiServer, type ApiServerOptions, type ServedRequest } from './api-server.js';
export { StatusServer, type StatusServerOptions } from './status-server.js';
export { ApiClient, type ApiClientOptions } from './api-client.js';
export { type HttpMethod, type RouteHandler, type RouteRequest } from './router.js';
export { httpStatusForError } from './http-json.js';
export { probeSocket, checkSocketPath, type SocketProbe } from './socket-file.js';
export { parseHostPort, formatHostPort, type HostPort, type HostPortRules } from './host-port.js';
export { parsePeerList } from './requests.js';
export { type ApiErrorBody, type Readiness } from './types.js';
export {
  ROUTES, validate, MAX_OWNER_BYTES, MAX_PEERS_PER_CALL,
  type RouteSpec, type Routes, type RouteName, type RequestOf, type ValidRequestOf, type ReplyOf,
  type StatusReport, type StatusPeer, type StatusConnection, type StatusTarget,
  type IpamStatusReport, type DataplaneStatusReport, type NetworkInfo,
  type AttachRequest, type AttachReply, type EndpointInfo,
} from './routes.js';
