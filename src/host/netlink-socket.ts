/**
 * Netlink sockets over the native addon: request/ack and dumps (rtnetlink processes a request
 * inside sendmsg, so its reply is normally queued before send returns; a reply that is not
 * there yet is awaited by poll with a deadline), and the addon's socket calls for the other
 * kernel operations (ethtool ioctl socket, persistent TAP).
 *
 * Lifecycle: `NetlinkSocket.open()` → requests → `close()`. One request at a time per socket
 * (calls are serialised). Errors: the kernel's errno becomes a typed WeftError
 * ({@link hostError}); a malformed reply is WEFT_ERR_DECODE.
 */
import { constants as osConstants } from 'node:os';
import { HOST_EXEC_TIMEOUT_MS, WeftError, type WeftErrorCode } from '../common/index.js';
import { AF_NETLINK, NETLINK_ROUTE, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, SOCK_RAW } from './netlink-abi.js';
import { decodeError, decodeMessages, encodeRequest, type NlAttr, type NlMessage } from './netlink-codec.js';
import { loadNativeAddon, type NativeAddon, type PollHandle } from './native-addon.js';

/** The addon's kernel-edge calls (native/netlink.c, native/poll.c): a view of the one declaration in native-addon.ts. */
export type KernelAddon = Pick<NativeAddon,
  'netnsSocket' | 'nlSetup' | 'nlSend' | 'nlRecv' | 'ethtoolSetTxCsum' | 'tunSetPersist' | 'pollStart' | 'pollStop' | 'close'>;

/** The addon, loaded once (the same module object the data plane uses). */
export function kernelAddon(): KernelAddon {
  return loadNativeAddon();
}

/** errno numbers the edge maps to their own codes. */
const ERRNO_CODES: Record<number, WeftErrorCode> = {
  17: 'WEFT_ERR_HOST_EXISTS', // EEXIST
  19: 'WEFT_ERR_HOST_NO_DEVICE', // ENODEV
  16: 'WEFT_ERR_HOST_BUSY', // EBUSY
  1: 'WEFT_ERR_HOST_PERMISSION', // EPERM
  13: 'WEFT_ERR_HOST_PERMISSION', // EACCES
  2: 'WEFT_ERR_HOST_NOT_FOUND', // ENOENT: no such entry (route, FDB entry, namespace file)
  3: 'WEFT_ERR_HOST_NOT_FOUND', // ESRCH: no such route
  99: 'WEFT_ERR_HOST_NOT_FOUND', // EADDRNOTAVAIL: no such address
};

/** errno number → name ("EEXIST"), from Node's table. */
const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

/** Kernel error as a typed WeftError: "<what> failed: <kernel text or strerror> (errno N)". */
export function hostError(what: string, errno: number, kernelText?: string): WeftError {
  const code = ERRNO_CODES[errno] ?? 'WEFT_ERR_HOST';
  const name = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  const text = kernelText && kernelText.length > 0 ? `${kernelText} (${name})` : name;
  const e = new WeftError(code, `${what} failed: ${text}`);
  (e as WeftError & { errno?: number }).errno = errno;
  return e;
}

/** errno of an exception thrown by the addon (its .errno is negative), or 0. */
export function addonErrno(e: unknown): number {
  const n = (e as { errno?: unknown }).errno;
  return typeof n === 'number' ? Math.abs(n) : 0;
}

/** A failed addon call as a typed error (WEFT_ERR_HOST for non-errno failures). */
export function addonError(what: string, e: unknown): WeftError {
  const errno = addonErrno(e);
  if (errno !== 0) return hostError(what, errno, e instanceof Error ? e.message : undefined);
  return new WeftError('WEFT_ERR_HOST', `${what} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** Receive buffer size: one datagram of a dump (the kernel sends at most ~32 KiB). bytes */
const RECV_BYTES = 256 * 1024;

/** An rtnetlink socket (in the daemon's namespace or another one). */
export class NetlinkSocket {
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly buf = Buffer.allocUnsafe(RECV_BYTES);
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(readonly fd: number, private readonly a: KernelAddon, readonly nsPath: string | undefined,
    private readonly timeoutMs: number) {}

  /** Open an rtnetlink socket; in `nsPath`'s namespace when given (no helper process). */
  static open(o: { nsPath?: string; timeoutMs?: number } = {}): NetlinkSocket {
    const a = kernelAddon();
    let fd: number;
    try {
      fd = a.netnsSocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, o.nsPath);
    } catch (e) {
      throw addonError(o.nsPath ? `opening a netlink socket in ${o.nsPath}` : 'opening a netlink socket', e);
    }
    try {
      a.nlSetup(fd, new Uint32Array(0), 1 << 20);
    } catch (e) {
      a.close(fd);
      throw addonError('setting up a netlink socket', e);
    }
    return new NetlinkSocket(fd, a, o.nsPath, o.timeoutMs ?? HOST_EXEC_TIMEOUT_MS);
  }

  /** Send a request and wait for its ack. Throws the typed error the kernel answered with. */
  request(what: string, type: number, flags: number, header: Uint8Array, attrs: readonly NlAttr[] = []): Promise<void> {
    return this.serial(async () => {
      await this.exchange(what, type, flags | NLM_F_REQUEST | NLM_F_ACK, header, attrs, () => undefined);
    });
  }

  /** Get one object (a non-dump request answered by one message, then the ack). */
  get(what: string, type: number, header: Uint8Array, attrs: readonly NlAttr[] = []): Promise<NlMessage[]> {
    return this.serial(async () => {
      const out: NlMessage[] = [];
      await this.exchange(what, type, NLM_F_REQUEST | NLM_F_ACK, header, attrs, (m) => { out.push(m); });
      return out;
    });
  }

  /** Dump: every message of the multipart reply, in order. */
  dump(what: string, type: number, header: Uint8Array, attrs: readonly NlAttr[] = []): Promise<NlMessage[]> {
    return this.serial(async () => {
      const out: NlMessage[] = [];
      await this.exchange(what, type, NLM_F_REQUEST | NLM_F_DUMP, header, attrs, (m) => { out.push(m); });
      return out;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.a.close(this.fd);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async exchange(what: string, type: number, flags: number, header: Uint8Array, attrs: readonly NlAttr[],
    onMessage: (m: NlMessage) => void): Promise<void> {
    if (this.closed) throw new WeftError('WEFT_ERR_CLOSED', `${what} failed: netlink socket closed`);
    const seq = this.seq = (this.seq + 1) >>> 0;
    const req = encodeRequest({ type, flags, seq, header, attrs });
    try {
      this.a.nlSend(this.fd, req, req.length);
    } catch (e) {
      throw addonError(what, e);
    }
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      let n: number;
      try {
        n = this.a.nlRecv(this.fd, this.buf);
      } catch (e) {
        throw addonError(what, e);
      }
      if (n < 0) {
        if (Date.now() > deadline) throw new WeftError('WEFT_ERR_TIMEOUT', `${what} failed: no netlink reply in ${this.timeoutMs} ms`);
        await this.readable(deadline);
        continue;
      }
      for (const m of decodeMessages(this.buf.subarray(0, n))) {
        if (m.seq !== seq) continue; // a late reply to an earlier, timed-out request
        if (m.type === NLMSG_ERROR) {
          const err = decodeError(m);
          if (err.errno !== 0) throw hostError(what, err.errno, err.message);
          return; // the ack
        }
        if (m.type === NLMSG_DONE) return;
        onMessage({ ...m, payload: Buffer.from(m.payload) }); // the receive buffer is reused

      }
    }
  }

  /** Resolves when the socket is readable or the deadline passed. */
  private readable(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      let handle: PollHandle | null = null;
      const done = (): void => {
        clearTimeout(timer);
        if (handle !== null) this.a.pollStop(handle);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
      handle = this.a.pollStart(this.fd, done);
    });
  }
}
