/**
 * The checked wrapper around the raw addon: the public {@link NativeDataplane}.
 *
 * Two layers of checks: this file checks every argument's type and the O(1) shape facts
 * (fd range, counts against array lengths, stride × max against the arena) and throws
 * WeftError('WEFT_ERR_BAD_ARGS'); C then checks all of that again plus every per-element
 * offset/length, so memory safety never depends on this layer. Errors thrown by C are
 * translated into WeftError with the original error as `cause`.
 */
import { AEAD_NONCE_BYTES, NATIVE_UDP_BUF_BYTES, WeftError } from '../common/index.js';
import type { RawNativeBinding } from './native-raw.js';
import type {
  AeadAlg, AeadHandle, NativeDataplane, PollHandle, TapOpenOptions, UdpOpenOptions,
} from './native-types.js';

const MAX_FD = 0x7fffffff;
const MAX_U32 = 0xffffffff;

/** Translate an error thrown by the C side into a WeftError (keeps it as `cause`). */
export function fromNativeError(op: string, e: unknown): WeftError {
  if (e instanceof WeftError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof TypeError || e instanceof RangeError) {
    return new WeftError('WEFT_ERR_BAD_ARGS', `${op}: ${msg}`, { cause: e });
  }
  if ((e as { code?: unknown }).code === 'ERR_WEFT_CLOSED') {
    return new WeftError('WEFT_ERR_CLOSED', `${op}: ${msg}`, { cause: e });
  }
  return new WeftError('WEFT_ERR_HOST', `${op}: ${msg}`, { cause: e });
}

/** The errno name ("EPERM", "EADDRINUSE", …) behind a WeftError from the addon, if any. */
export function nativeErrno(e: unknown): string | undefined {
  const cause = e instanceof WeftError ? (e.cause as { code?: unknown } | undefined) : undefined;
  const code = cause?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

function bad(op: string, what: string): never {
  throw new WeftError('WEFT_ERR_BAD_ARGS', `${op}: ${what}`);
}

function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

function checkFd(op: string, fd: unknown): void {
  if (!isUint(fd, MAX_FD)) bad(op, 'fd must be an integer in [0, 2^31)');
}

function checkUint(op: string, name: string, v: unknown, min = 0): void {
  if (!isUint(v, MAX_U32) || v < min) bad(op, `${name} must be an integer in [${min}, 2^32)`);
}

function checkU8(op: string, name: string, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) bad(op, `${name} must be a Buffer or Uint8Array`);
}

function checkU32(op: string, name: string, v: unknown): asserts v is Uint32Array {
  if (!(v instanceof Uint32Array)) bad(op, `${name} must be a Uint32Array`);
}

/** count (already an integer) must not exceed any of the given arrays' lengths × per. */
function checkFits(op: string, count: number, per: number, name: string, a: ArrayLike<unknown>): void {
  if (count * per > a.length) bad(op, `count ${count} needs ${count * per} entries in ${name} (has ${a.length})`);
}

/** Shape checks shared by aeadSealBatch and aeadOpenBatch. */
function checkAeadBatch(op: string, arena: unknown, offs: unknown, lens: unknown, nonces: unknown,
  adOffs: unknown, adLens: unknown, count: unknown): void {
  checkU8(op, 'arena', arena);
  checkU32(op, 'offs', offs);
  checkU32(op, 'lens', lens);
  checkU8(op, 'nonces', nonces);
  checkU32(op, 'adOffs', adOffs);
  checkU32(op, 'adLens', adLens);
  checkUint(op, 'count', count);
  const n = count as number;
  checkFits(op, n, 1, 'offs', offs);
  checkFits(op, n, 1, 'lens', lens);
  checkFits(op, n, 1, 'adOffs', adOffs);
  checkFits(op, n, 1, 'adLens', adLens);
  checkFits(op, n, AEAD_NONCE_BYTES, 'nonces', nonces);
}

/** {@link NativeDataplane} over the raw binding. Stateless: safe to create several. */
export class CheckedNativeDataplane implements NativeDataplane {
  constructor(private readonly raw: RawNativeBinding) {}

  tapOpen(name: string, opts: TapOpenOptions = {}): number {
    if (typeof name !== 'string' || name.length === 0 || name.length > 15) bad('tapOpen', 'name must be 1..15 characters');
    const vnet = opts.vnetHdr === true ? (opts.vnetHdrBytes ?? 10) : 0;
    if (vnet !== 0 && vnet !== 10 && vnet !== 12) bad('tapOpen', 'vnetHdrBytes must be 10 or 12');
    try { return this.raw.tapOpen(name, vnet); } catch (e) { throw fromNativeError(`tapOpen ${name}`, e); }
  }

  tapSetOffload(fd: number, flags: number): void {
    checkFd('tapSetOffload', fd);
    checkUint('tapSetOffload', 'flags', flags);
    try { this.raw.tapSetOffload(fd, flags); } catch (e) { throw fromNativeError('tapSetOffload', e); }
  }

  udpOpen(addr: string, port: number, opts: UdpOpenOptions = {}): number {
    if (typeof addr !== 'string') bad('udpOpen', 'addr must be a string');
    if (!isUint(port, 65535)) bad('udpOpen', 'port must be an integer in [0, 65535]');
    const buf = opts.bufBytes ?? NATIVE_UDP_BUF_BYTES;
    checkUint('udpOpen', 'bufBytes', buf, 4096);
    try { return this.raw.udpOpen(addr, port, buf, opts.reusePort === true); } catch (e) { throw fromNativeError(`udpOpen ${addr}:${port}`, e); }
  }

  udpLocalPort(fd: number): number {
    checkFd('udpLocalPort', fd);
    try { return this.raw.udpLocalPort(fd); } catch (e) { throw fromNativeError('udpLocalPort', e); }
  }

  close(fd: number): void {
    checkFd('close', fd);
    try { this.raw.close(fd); } catch (e) { throw fromNativeError('close', e); }
  }

  pollStart(fd: number, cb: () => void): PollHandle {
    checkFd('pollStart', fd);
    if (typeof cb !== 'function') bad('pollStart', 'cb must be a function');
    try { return this.raw.pollStart(fd, cb); } catch (e) { throw fromNativeError('pollStart', e); }
  }

  pollStop(h: PollHandle): void {
    try { this.raw.pollStop(h); } catch (e) { throw fromNativeError('pollStop', e); }
  }

  readBatch(fd: number, arena: Buffer, stride: number, lens: Uint32Array, max: number): number {
    checkFd('readBatch', fd);
    checkU8('readBatch', 'arena', arena);
    checkUint('readBatch', 'stride', stride, 1);
    checkU32('readBatch', 'lens', lens);
    checkUint('readBatch', 'max', max);
    checkFits('readBatch', max, 1, 'lens', lens);
    if (stride * max > arena.length) bad('readBatch', `stride * max (${stride * max}) exceeds arena.length (${arena.length})`);
    try { return this.raw.readBatch(fd, arena, stride, lens, max); } catch (e) { throw fromNativeError('readBatch', e); }
  }

  writeBatch(fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, count: number): number {
    checkFd('writeBatch', fd);
    checkU8('writeBatch', 'arena', arena);
    checkU32('writeBatch', 'offs', offs);
    checkU32('writeBatch', 'lens', lens);
    checkUint('writeBatch', 'count', count);
    checkFits('writeBatch', count, 1, 'offs', offs);
    checkFits('writeBatch', count, 1, 'lens', lens);
    try { return this.raw.writeBatch(fd, arena, offs, lens, count); } catch (e) { throw fromNativeError('writeBatch', e); }
  }

  tapWriteCoalesced(fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, count: number,
    vnetHdrBytes: 10 | 12, stats?: Uint32Array): number {
    const op = 'tapWriteCoalesced';
    checkFd(op, fd);
    checkU8(op, 'arena', arena);
    checkU32(op, 'offs', offs);
    checkU32(op, 'lens', lens);
    checkUint(op, 'count', count);
    checkFits(op, count, 1, 'offs', offs);
    checkFits(op, count, 1, 'lens', lens);
    if (vnetHdrBytes !== 10 && vnetHdrBytes !== 12) bad(op, 'vnetHdrBytes must be 10 or 12');
    if (stats !== undefined) {
      checkU32(op, 'stats', stats);
      if (stats.length < 3) bad(op, 'stats needs 3 elements');
    }
    if (typeof this.raw.tapWriteCoalesced !== 'function') {
      throw new WeftError('WEFT_ERR_HOST', `${op}: the native addon predates this call: rebuild it with npm run install`);
    }
    try { return this.raw.tapWriteCoalesced(fd, arena, offs, lens, count, vnetHdrBytes, stats); } catch (e) { throw fromNativeError(op, e); }
  }

  gsoSplit(arena: Buffer, off: number, len: number, vnetHdrBytes: 10 | 12, out: Buffer, outStride: number,
    outLens: Uint32Array, max: number): number {
    checkU8('gsoSplit', 'arena', arena);
    checkUint('gsoSplit', 'off', off);
    checkUint('gsoSplit', 'len', len);
    if (off + len > arena.length) bad('gsoSplit', `off + len (${off + len}) exceeds arena.length (${arena.length})`);
    if (vnetHdrBytes !== 10 && vnetHdrBytes !== 12) bad('gsoSplit', 'vnetHdrBytes must be 10 or 12');
    checkU8('gsoSplit', 'out', out);
    checkUint('gsoSplit', 'outStride', outStride, 1);
    checkU32('gsoSplit', 'outLens', outLens);
    checkUint('gsoSplit', 'max', max);
    checkFits('gsoSplit', max, 1, 'outLens', outLens);
    if (outStride * max > out.length) bad('gsoSplit', `outStride * max (${outStride * max}) exceeds out.length (${out.length})`);
    try { return this.raw.gsoSplit(arena, off, len, vnetHdrBytes, out, outStride, outLens, max); } catch (e) { throw fromNativeError('gsoSplit', e); }
  }

  udpRecvBatch(fd: number, arena: Buffer, stride: number, lens: Uint32Array, addrs: Uint32Array, max: number): number {
    checkFd('udpRecvBatch', fd);
    checkU8('udpRecvBatch', 'arena', arena);
    checkUint('udpRecvBatch', 'stride', stride, 1);
    checkU32('udpRecvBatch', 'lens', lens);
    checkU32('udpRecvBatch', 'addrs', addrs);
    checkUint('udpRecvBatch', 'max', max);
    checkFits('udpRecvBatch', max, 1, 'lens', lens);
    checkFits('udpRecvBatch', max, 2, 'addrs', addrs);
    if (stride * max > arena.length) bad('udpRecvBatch', `stride * max (${stride * max}) exceeds arena.length (${arena.length})`);
    try { return this.raw.udpRecvBatch(fd, arena, stride, lens, addrs, max); } catch (e) { throw fromNativeError('udpRecvBatch', e); }
  }

  udpSendBatch(fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, addrs: Uint32Array,
    count: number, errs?: Uint8Array, gso?: boolean): number {
    checkFd('udpSendBatch', fd);
    if (gso !== undefined && typeof gso !== 'boolean') bad('udpSendBatch', 'gso must be a boolean');
    checkU8('udpSendBatch', 'arena', arena);
    checkU32('udpSendBatch', 'offs', offs);
    checkU32('udpSendBatch', 'lens', lens);
    checkU32('udpSendBatch', 'addrs', addrs);
    checkUint('udpSendBatch', 'count', count);
    checkFits('udpSendBatch', count, 1, 'offs', offs);
    checkFits('udpSendBatch', count, 1, 'lens', lens);
    checkFits('udpSendBatch', count, 2, 'addrs', addrs);
    if (errs !== undefined) {
      checkU8('udpSendBatch', 'errs', errs);
      checkFits('udpSendBatch', count, 1, 'errs', errs);
    }
    try { return gso ? this.raw.udpSendBatch(fd, arena, offs, lens, addrs, count, errs ?? null, true) : this.raw.udpSendBatch(fd, arena, offs, lens, addrs, count, errs); } catch (e) { throw fromNativeError('udpSendBatch', e); }
  }

  udpSetGro(fd: number, on: boolean): void {
    checkFd('udpSetGro', fd);
    if (typeof on !== 'boolean') bad('udpSetGro', 'on must be a boolean');
    try { this.raw.udpSetGro(fd, on); } catch (e) { throw fromNativeError('udpSetGro', e); }
  }

  udpRecvBatchGro(fd: number, arena: Buffer, msgBytes: number, offs: Uint32Array, lens: Uint32Array,
    addrs: Uint32Array, max: number): number {
    const op = 'udpRecvBatchGro';
    checkFd(op, fd);
    checkU8(op, 'arena', arena);
    checkUint(op, 'msgBytes', msgBytes, 1);
    checkU32(op, 'offs', offs);
    checkU32(op, 'lens', lens);
    checkU32(op, 'addrs', addrs);
    checkUint(op, 'max', max);
    checkFits(op, max, 1, 'offs', offs);
    checkFits(op, max, 1, 'lens', lens);
    checkFits(op, max, 2, 'addrs', addrs);
    try { return this.raw.udpRecvBatchGro(fd, arena, msgBytes, offs, lens, addrs, max); } catch (e) { throw fromNativeError(op, e); }
  }

  pathMtu(ip: string): number {
    if (typeof ip !== 'string') bad('pathMtu', 'ip must be a string');
    try { return this.raw.pathMtu(ip); } catch (e) { throw fromNativeError(`pathMtu ${ip}`, e); }
  }

  aeadCreate(alg: AeadAlg, key: Buffer): AeadHandle {
    if (alg !== 'chacha20-poly1305' && alg !== 'aes-256-gcm') bad('aeadCreate', "alg must be 'chacha20-poly1305' or 'aes-256-gcm'");
    checkU8('aeadCreate', 'key', key);
    if (key.length !== 32) bad('aeadCreate', 'key must be 32 bytes');
    try { return this.raw.aeadCreate(alg, key); } catch (e) { throw fromNativeError('aeadCreate', e); }
  }

  aeadFree(h: AeadHandle): void {
    try { this.raw.aeadFree(h); } catch (e) { throw fromNativeError('aeadFree', e); }
  }

  aeadSealBatch(h: AeadHandle, arena: Buffer, offs: Uint32Array, lens: Uint32Array, nonces: Buffer,
    adOffs: Uint32Array, adLens: Uint32Array, count: number): number {
    checkAeadBatch('aeadSealBatch', arena, offs, lens, nonces, adOffs, adLens, count);
    try { return this.raw.aeadSealBatch(h, arena, offs, lens, nonces, adOffs, adLens, count); } catch (e) { throw fromNativeError('aeadSealBatch', e); }
  }

  aeadOpenBatch(h: AeadHandle, arena: Buffer, offs: Uint32Array, lens: Uint32Array, nonces: Buffer,
    adOffs: Uint32Array, adLens: Uint32Array, ok: Uint8Array, count: number): number {
    checkAeadBatch('aeadOpenBatch', arena, offs, lens, nonces, adOffs, adLens, count);
    checkU8('aeadOpenBatch', 'ok', ok);
    checkFits('aeadOpenBatch', count, 1, 'ok', ok);
    try { return this.raw.aeadOpenBatch(h, arena, offs, lens, nonces, adOffs, adLens, ok, count); } catch (e) { throw fromNativeError('aeadOpenBatch', e); }
  }

  hasAesNi(): boolean {
    return this.raw.hasAesNi();
  }

  opensslVersion(): string {
    return this.raw.opensslVersion();
  }
}
