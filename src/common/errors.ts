/**
 * Typed errors with stable codes. Every error that crosses a subsystem boundary is a
 * {@link WeftError}; callers switch on `code`, never on message text. Codes are part of the
 * public contract (API responses and CLI exit messages carry them) and are never renamed.
 */
export type WeftErrorCode =
  // configuration and input
  | 'WEFT_ERR_BAD_ARGS'          // CLI/API argument invalid
  | 'WEFT_ERR_BAD_CONFIG'        // config file / flag combination invalid
  | 'WEFT_ERR_SECRET'            // cluster secret missing/unreadable/bad
  | 'WEFT_ERR_DATA_DIR'          // data dir unusable
  // wire / protocol
  | 'WEFT_ERR_DECODE'            // malformed message: bounds or format violated
  | 'WEFT_ERR_TOO_BIG'           // length prefix over the hard limit
  | 'WEFT_ERR_VERSION'           // no common protocol version
  | 'WEFT_ERR_HANDSHAKE'         // handshake failed (bad secret, bad MAC, timeout)
  | 'WEFT_ERR_REPLAY'            // replayed handshake or datagram
  | 'WEFT_ERR_AUTH'              // AEAD open failed on an established session
  | 'WEFT_ERR_SELF'              // connected to ourselves
  | 'WEFT_ERR_NAME_COLLISION'    // another live peer uses our name (cloned data dir)
  | 'WEFT_ERR_DUPLICATE_CONN'    // lost the duplicate-connection tie-break
  | 'WEFT_ERR_CONN_LIMIT'        // connection limit reached
  | 'WEFT_ERR_TIMEOUT'           // heartbeat or operation timed out
  | 'WEFT_ERR_CLOSED'            // object already stopped / connection closed
  | 'WEFT_ERR_RATE_LIMIT'        // handshake rate limit exceeded
  | 'WEFT_ERR_NO_ROUTE'          // no route to destination peer
  // daemon / API
  | 'WEFT_ERR_NOT_RUNNING'       // daemon not reachable on its API socket
  | 'WEFT_ERR_ALREADY_RUNNING'   // a daemon already owns this API socket / data dir
  | 'WEFT_ERR_NOT_FOUND'         // named object does not exist
  | 'WEFT_ERR_NO_API_ROUTE'      // no such API route (method + path): the daemon is older/newer
  | 'WEFT_ERR_HOST'              // a kernel/host operation failed (ip, netlink, tap)
  | 'WEFT_ERR_HOST_EXISTS'       // kernel: the object exists already (EEXIST)
  | 'WEFT_ERR_HOST_NO_DEVICE'    // kernel: no such network device (ENODEV)
  | 'WEFT_ERR_HOST_NOT_FOUND'    // kernel: no such address, route, FDB entry or namespace (ENOENT, ESRCH, EADDRNOTAVAIL)
  | 'WEFT_ERR_HOST_BUSY'         // kernel: device or resource busy (EBUSY)
  | 'WEFT_ERR_HOST_PERMISSION'   // kernel: operation not permitted (EPERM, EACCES)
  | 'WEFT_ERR_NETNS_NOT_FOUND'   // attach: the pod's network namespace does not exist
  | 'WEFT_ERR_NETNS_INVALID'     // attach: the path is no network namespace, or the daemon's own
  | 'WEFT_ERR_IF_EXISTS'         // attach: the pod already has an interface of that name
  // IPAM
  | 'WEFT_ERR_IPAM_NOT_READY'    // ring not ready (awaiting consensus, no range)
  | 'WEFT_ERR_IPAM_EXHAUSTED'    // no free address could be obtained
  | 'WEFT_ERR_IPAM_CONFLICT'     // conflicting ring update (resolved, counted)
  | 'WEFT_ERR_IPAM_SPLIT'        // two independently seeded rings met
  | 'WEFT_ERR_IPAM_IN_USE'       // requested address is allocated to another owner
  // network policy
  | 'WEFT_ERR_POLICY_INVALID'    // a policy/namespace document is invalid (names document and field); nothing of that apply is used
  | 'WEFT_ERR_KUBE'              // Kubernetes mode: the API server could not be read (config, connection, list/watch)
  // service discovery
  | 'WEFT_ERR_DNS_UNAVAILABLE'   // the DNS server is off (--no-dns) or does not listen (the host has no overlay address)
  | 'WEFT_ERR_INTERNAL';

/** Base class of every weft error. `code` is stable; `message` is one human line. */
export class WeftError extends Error {
  readonly code: WeftErrorCode;
  constructor(code: WeftErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'WeftError';
  }
  /** JSON shape used by the API: `{ code, message }`. */
  toJSON(): { code: WeftErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** True when `e` is a WeftError (optionally with the given code). */
export function isWeftError(e: unknown, code?: WeftErrorCode): e is WeftError {
  return e instanceof WeftError && (code === undefined || e.code === code);
}

/** One-line description of any thrown value, for logs and CLI output. */
export function describeError(e: unknown): string {
  if (e instanceof WeftError) return `${e.message} (${e.code})`;
  if (e instanceof Error) return e.message;
  return String(e);
}
