/**
 * Loading build/Release/weft_dp.node. The raw binding takes flat positional arguments (no
 * option objects) and throws plain TypeError/RangeError/Error from C; `native-checked.ts`
 * wraps it into the public {@link NativeDataplane}. Only tests and benchmarks use the raw
 * binding directly (to exercise the C-side checks without the TypeScript ones in front).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { WeftError } from '../common/index.js';
import type { AeadHandle, PollHandle } from './native-types.js';

/** ABI version the C side reports from abiVersion(); bumped with every incompatible change. */
export const NATIVE_ABI_VERSION = 3;

/** The addon's exports, exactly as C defines them (see native/weft_dp.c). */
export interface RawNativeBinding {
  abiVersion(): number;
  opensslVersion(): string;
  tapOpen(name: string, vnetHdrBytes?: number): number;
  tapSetOffload(fd: number, flags: number): void;
  readBatch(fd: number, arena: Uint8Array, stride: number, lens: Uint32Array, max: number): number;
  writeBatch(fd: number, arena: Uint8Array, offs: Uint32Array, lens: Uint32Array, count: number): number;
  tapWriteCoalesced(fd: number, arena: Uint8Array, offs: Uint32Array, lens: Uint32Array, count: number,
    vnetHdrBytes: number, stats?: Uint32Array | null): number;
  gsoSplit(arena: Uint8Array, off: number, len: number, vnetHdrBytes: number, out: Uint8Array, outStride: number,
    outLens: Uint32Array, max: number): number;
  udpOpen(addr: string, port: number, bufBytes: number, reusePort: boolean): number;
  udpLocalPort(fd: number): number;
  udpRecvBatch(fd: number, arena: Uint8Array, stride: number, lens: Uint32Array, addrs: Uint32Array,
    max: number): number;
  udpSendBatch(fd: number, arena: Uint8Array, offs: Uint32Array, lens: Uint32Array, addrs: Uint32Array,
    count: number, errs?: Uint8Array | null, gso?: boolean): number;
  udpSetGro(fd: number, on: boolean): void;
  udpRecvBatchGro(fd: number, arena: Uint8Array, msgBytes: number, offs: Uint32Array, lens: Uint32Array,
    addrs: Uint32Array, max: number): number;
  pathMtu(ip: string): number;
  aeadCreate(alg: string, key: Uint8Array): AeadHandle;
  aeadFree(h: AeadHandle): void;
  aeadSealBatch(h: AeadHandle, arena: Uint8Array, offs: Uint32Array, lens: Uint32Array, nonces: Uint8Array,
    adOffs: Uint32Array, adLens: Uint32Array, count: number): number;
  aeadOpenBatch(h: AeadHandle, arena: Uint8Array, offs: Uint32Array, lens: Uint32Array, nonces: Uint8Array,
    adOffs: Uint32Array, adLens: Uint32Array, ok: Uint8Array, count: number): number;
  hasAesNi(): boolean;
  pollStart(fd: number, cb: () => void): PollHandle;
  pollStop(h: PollHandle): void;
  close(fd: number): void;
}

/** Absolute path of the compiled addon (repo root/build/Release), from dist/src/dataplane/. */
export function nativeAddonPath(): string {
  return fileURLToPath(new URL('../../../build/Release/weft_dp.node', import.meta.url));
}

/**
 * Load the raw addon (Node caches it per thread). Throws WeftError('WEFT_ERR_HOST') with a
 * one-line fix when it is missing, fails to link, or is stale.
 */
export function loadRawBinding(): RawNativeBinding {
  const path = nativeAddonPath();
  let raw: RawNativeBinding;
  try {
    raw = createRequire(import.meta.url)(path) as RawNativeBinding;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND') {
      throw new WeftError('WEFT_ERR_HOST', `native data-plane addon missing at ${path}: run npm ci (or npm run install) to build it`, { cause: e });
    }
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new WeftError('WEFT_ERR_HOST', `native data-plane addon failed to load (${msg}): rebuild it with npm run install`, { cause: e });
  }
  const abi = typeof raw.abiVersion === 'function' ? raw.abiVersion() : 0;
  if (abi !== NATIVE_ABI_VERSION) {
    throw new WeftError('WEFT_ERR_HOST', `native data-plane addon is stale (ABI ${abi}, need ${NATIVE_ABI_VERSION}): rebuild it with npm run install`);
  }
  return raw;
}
