/**
 * nftables set-element changes over nf_tables netlink (NETLINK_NETFILTER), without an `nft`
 * process: one batch (NFNL_MSG_BATCH_BEGIN, NFT_MSG_NEWSETELEM / NFT_MSG_DELSETELEM per set,
 * NFNL_MSG_BATCH_END) is one kernel transaction, all or nothing, like `nft -f -`. `nft`
 * re-reads the whole table before every transaction (18–40 ms for one element with the policy
 * table of 1,000 policies); a batch costs one sendmsg. Structural changes (tables, chains,
 * rules, new sets) stay with `nft -f -`.
 *
 * Element keys are encoded from nft's canonical text for the key types the policy edge uses:
 * `ipv4_addr`, `ipv6_addr` and concatenations of those with `inet_proto` and `inet_service`
 * (each component in its own 4-byte register, network byte order). Interval sets are not
 * handled here (their elements are ranges with end flags): callers use `nft` for those.
 *
 * Errors: the kernel's errno as a typed WeftError (hostError: ENOENT → WEFT_ERR_HOST_NOT_FOUND
 * for an element or set that is not there, EEXIST, EPERM, …); bad element text is
 * WEFT_ERR_BAD_ARGS before anything is sent.
 */
import { HOST_EXEC_TIMEOUT_MS, WeftError } from '../common/index.js';
import { parseIp } from '../net/index.js';
import { AF_NETLINK, NLMSG_ERROR, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, SOCK_RAW } from './netlink-abi.js';
import { decodeError, decodeMessages, encodeRequest, type NlAttr } from './netlink-codec.js';
import { addonError, hostError, kernelAddon, type KernelAddon } from './netlink-socket.js';
import type { PollHandle } from './native-addon.js';

/** Netlink protocol of nfnetlink. */
export const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 16;
const NFNL_MSG_BATCH_END = 17;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_DELSETELEM = 14;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_DATA_VALUE = 1;
/** nfgenmsg families (NFPROTO_*). */
export const NFPROTO = { inet: 1, ip: 2, netdev: 5, ip6: 10 } as const;
export type NftFamily = keyof typeof NFPROTO;

/** Elements per NEWSETELEM/DELSETELEM message (keeps each nested attribute far below 64 KiB). */
const ELEMENTS_PER_MESSAGE = 1000;
/** Receive buffer: acks echo the request header; an error echoes the whole message. bytes */
const RECV_BYTES = 256 * 1024;

/** Elements to add to or delete from one set, as nft prints them ("10.1.2.3", "10.1.2.3 . tcp . 8080"). */
export interface NftElementChange {
  readonly family: NftFamily;
  readonly table: string;
  readonly set: string;
  /** The set's key type as declared (`ipv4_addr`, `ipv6_addr . inet_proto . inet_service`, …). */
  readonly keyType: string;
  readonly verb: 'add' | 'delete';
  readonly elements: readonly string[];
}

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58 };
const bad = (what: string): never => {
  throw new WeftError('WEFT_ERR_BAD_ARGS', `nft element: ${what}`);
};

/** The key bytes of one element of a set of `keyType`. Throws WEFT_ERR_BAD_ARGS for text that does not fit the type. */
export function nftElementKey(keyType: string, text: string): Buffer {
  const types = keyType.split(' . ').map((t) => t.trim());
  const parts = text.split(' . ').map((t) => t.trim());
  if (types.length !== parts.length) bad(`"${text}" does not have the ${types.length} parts of ${keyType}`);
  const regs: Buffer[] = [];
  types.forEach((t, i) => {
    const p = parts[i]!;
    if (t === 'ipv4_addr' || t === 'ipv6_addr') {
      const a = parseIp(p);
      if (a === null || a.family !== (t === 'ipv4_addr' ? 4 : 6)) bad(`"${p}" is not an ${t === 'ipv4_addr' ? 'IPv4' : 'IPv6'} address`);
      const b = Buffer.alloc(t === 'ipv4_addr' ? 4 : 16);
      if (a!.family === 4) b.writeUInt32BE(a!.value >>> 0, 0);
      else {
        let v = a!.value;
        for (let k = 15; k >= 0; k--) { b[k] = Number(v & 0xffn); v >>= 8n; }
      }
      regs.push(b);
    } else if (t === 'inet_proto') {
      const n = PROTOCOLS[p] ?? (/^\d+$/.test(p) ? Number(p) : -1);
      if (!(n >= 0 && n <= 255)) bad(`"${p}" is not a protocol`);
      const b = Buffer.alloc(4);
      b[0] = n;
      regs.push(b);
    } else if (t === 'inet_service') {
      const n = /^\d+$/.test(p) ? Number(p) : -1;
      if (!(n >= 0 && n <= 65535)) bad(`"${p}" is not a port`);
      const b = Buffer.alloc(4);
      b.writeUInt16BE(n, 0);
      regs.push(b);
    } else bad(`key type ${t} is not supported`);
  });
  // A single key is its value without register padding (ipv4_addr: 4 bytes); every key type here is a multiple of 4.
  return Buffer.concat(regs);
}

function nfgenmsg(family: number, resId = 0): Uint8Array {
  const b = Buffer.alloc(4);
  b[0] = family;
  b[1] = 0; // NFNETLINK_V0
  b.writeUInt16BE(resId, 2);
  return b;
}

const cstr = (s: string): Uint8Array => Buffer.from(`${s}\u0000`, 'utf8');

/** One encoded batch and the sequence numbers of its acknowledged messages. */
export interface NftBatch {
  readonly buf: Buffer;
  readonly seqs: readonly number[];
}

/**
 * Encode `changes` as one nf_tables batch starting at sequence `seq` (pure). Every element
 * message asks for an ack; begin and end carry the nftables subsystem id.
 */
export function encodeElementBatch(changes: readonly NftElementChange[], seq: number): NftBatch {
  const parts: Buffer[] = [];
  const seqs: number[] = [];
  let s = seq >>> 0;
  parts.push(encodeRequest({ type: NFNL_MSG_BATCH_BEGIN, flags: NLM_F_REQUEST, seq: s, header: nfgenmsg(0, NFNL_SUBSYS_NFTABLES) }));
  for (const c of changes) {
    const family = NFPROTO[c.family] ?? bad(`unknown family ${String(c.family)}`);
    for (let i = 0; i < c.elements.length; i += ELEMENTS_PER_MESSAGE) {
      const elems: NlAttr[] = c.elements.slice(i, i + ELEMENTS_PER_MESSAGE).map((e) => ({
        type: NFTA_LIST_ELEM, value: [{ type: NFTA_SET_ELEM_KEY, value: [{ type: NFTA_DATA_VALUE, value: nftElementKey(c.keyType, e) }] }],
      }));
      s = (s + 1) >>> 0;
      seqs.push(s);
      parts.push(encodeRequest({
        type: (NFNL_SUBSYS_NFTABLES << 8) | (c.verb === 'add' ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM),
        flags: NLM_F_REQUEST | NLM_F_ACK | (c.verb === 'add' ? NLM_F_CREATE : 0),
        seq: s,
        header: nfgenmsg(family),
        attrs: [
          { type: NFTA_SET_ELEM_LIST_TABLE, value: cstr(c.table) },
          { type: NFTA_SET_ELEM_LIST_SET, value: cstr(c.set) },
          { type: NFTA_SET_ELEM_LIST_ELEMENTS, value: elems },
        ],
      }));
    }
  }
  s = (s + 1) >>> 0;
  parts.push(encodeRequest({ type: NFNL_MSG_BATCH_END, flags: NLM_F_REQUEST, seq: s, header: nfgenmsg(0, NFNL_SUBSYS_NFTABLES) }));
  return { buf: Buffer.concat(parts), seqs };
}

/**
 * An nfnetlink socket for element batches. Lifecycle: `open()` → `apply()`… → `close()`; one
 * batch at a time (serialised). Guarantee: `apply` resolves only when the kernel acked every
 * message of the batch (committed); any error means the whole batch was aborted.
 */
export class NftNetlink {
  private seq = Math.floor(Math.random() * 0x3fffffff);
  private readonly buf = Buffer.allocUnsafe(RECV_BYTES);
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly fd: number, private readonly a: KernelAddon, private readonly timeoutMs: number) {}

  /** Open an nfnetlink socket, in `nsPath`'s namespace when given. */
  static open(o: { nsPath?: string; timeoutMs?: number } = {}): NftNetlink {
    const a = kernelAddon();
    let fd: number;
    try {
      fd = a.netnsSocket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER, o.nsPath);
    } catch (e) {
      throw addonError('opening an nfnetlink socket', e);
    }
    try {
      a.nlSetup(fd, new Uint32Array(0), 1 << 20);
    } catch (e) {
      a.close(fd);
      throw addonError('setting up an nfnetlink socket', e);
    }
    return new NftNetlink(fd, a, o.timeoutMs ?? HOST_EXEC_TIMEOUT_MS);
  }

  /** Apply `changes` as one transaction. */
  apply(what: string, changes: readonly NftElementChange[]): Promise<void> {
    const run = this.chain.then(() => this.applyNow(what, changes));
    this.chain = run.catch(() => undefined);
    return run;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.a.close(this.fd);
  }

  private async applyNow(what: string, changes: readonly NftElementChange[]): Promise<void> {
    if (this.closed) throw new WeftError('WEFT_ERR_CLOSED', `${what} failed: nfnetlink socket closed`);
    const batch = encodeElementBatch(changes, this.seq);
    this.seq = (this.seq + batch.seqs.length + 2) >>> 0;
    if (batch.seqs.length === 0) return;
    try {
      this.a.nlSend(this.fd, batch.buf, batch.buf.length);
    } catch (e) {
      throw addonError(what, e);
    }
    const pending = new Set(batch.seqs);
    let failure: WeftError | null = null;
    const deadline = Date.now() + this.timeoutMs;
    // nfnetlink runs the batch inside sendmsg: every ack (or error) is queued when send returns.
    while (pending.size > 0) {
      let n: number;
      try {
        n = this.a.nlRecv(this.fd, this.buf);
      } catch (e) {
        throw addonError(what, e);
      }
      if (n < 0) {
        if (failure !== null) break; // an aborted batch may not ack every message
        if (Date.now() > deadline) throw new WeftError('WEFT_ERR_TIMEOUT', `${what} failed: no nfnetlink ack in ${this.timeoutMs} ms`);
        await this.readable(deadline);
        continue;
      }
      for (const m of decodeMessages(this.buf.subarray(0, n))) {
        if (m.type !== NLMSG_ERROR || !pending.has(m.seq)) continue; // late replies of an earlier batch
        pending.delete(m.seq);
        const err = decodeError(m);
        if (err.errno !== 0 && failure === null) failure = hostError(what, err.errno, err.message);
      }
    }
    if (failure !== null) throw failure;
  }

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

/** The same changes as `nft -f -` script lines (for kernels without the netlink path: fakes, tools). */
export function elementChangeScript(changes: readonly NftElementChange[]): string {
  return changes.filter((c) => c.elements.length > 0)
    .map((c) => `${c.verb} element ${c.family} ${c.table} ${c.set} { ${c.elements.join(', ')} }\n`).join('');
}
