/**
 * The native addon (native/*.c, built to build/Release/weft_dp.node): its JavaScript surface,
 * declared once, and its loader.
 *
 * {@link NATIVE_FUNCTIONS} is the one table of what the addon exports: every function
 * native/weft_dp.c registers, with its arguments (name and kind, `?` = may be omitted) and its
 * result kind. Everything else is derived from it: the raw binding's type
 * ({@link NativeAddon}), the kernel edge's view (netlink-socket.ts `KernelAddon`, a Pick), the
 * data plane's raw view (src/dataplane/native-raw.ts) and the arity each call accepts
 * ({@link nativeArity}). `native-surface.test` loads the built addon and fails when C and
 * this table disagree (a function on one side only, or a different arity).
 *
 * The raw binding takes flat positional arguments and throws plain TypeError/RangeError/Error
 * from C; src/dataplane/native-checked.ts wraps the data-plane half into the checked,
 * documented NativeDataplane, and src/host/netlink-socket.ts the kernel half.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { WeftError } from '../common/index.js';

/** ABI version the C side reports from abiVersion() (WEFT_DP_ABI_VERSION); bumped with every incompatible change. */
export const NATIVE_ABI_VERSION = 3;

declare const pollHandleBrand: unique symbol;
declare const aeadHandleBrand: unique symbol;

/**
 * Opaque token of one `pollStart` registration. Stays valid (and safe to pass to `pollStop`)
 * forever; after `pollStop` or `close(fd)` it is inert.
 */
export interface PollHandle {
  readonly [pollHandleBrand]: true;
}

/**
 * Opaque AEAD context for one key (two initialised OpenSSL cipher contexts). Freed by
 * `aeadFree` (idempotent; later use throws) or, as a fallback, by GC.
 */
export interface AeadHandle {
  readonly [aeadHandleBrand]: true;
}

/** Argument kinds, as native/args.c's weft_arg_* helpers accept them. */
interface ArgKinds {
  /** weft_arg_str: a string. */
  str: string;
  /** weft_arg_u32 / weft_arg_fd: an integral number in range. */
  int: number;
  /** weft_arg_bool. */
  bool: boolean;
  /** weft_arg_bytes: a Uint8Array (Buffer is one). */
  bytes: Uint8Array;
  /** weft_arg_bytes_opt: a Uint8Array, or null/undefined for "none". */
  'bytes|null': Uint8Array | null;
  /** weft_arg_u32s: a Uint32Array. */
  u32s: Uint32Array;
  /** A Uint32Array, or null/undefined for "none". */
  'u32s|null': Uint32Array | null;
  /** A callback (called with no arguments). */
  fn: () => void;
  poll: PollHandle;
  aead: AeadHandle;
}

/** Result kinds. */
interface ResultKinds {
  void: void;
  int: number;
  str: string;
  bool: boolean;
  poll: PollHandle;
  aead: AeadHandle;
}

type ArgKind = keyof ArgKinds;
/** `name:kind`, or `name:kind?` for an argument that may be omitted (only at the end). */
type ArgSpec = `${string}:${ArgKind}` | `${string}:${ArgKind}?`;

/** One exported function: its arguments in order and its result. */
export interface NativeFunctionSpec {
  readonly args: readonly ArgSpec[];
  readonly returns: keyof ResultKinds;
}

/** Every function the addon exports (native/weft_dp.c's registration table), in its order. */
export const NATIVE_FUNCTIONS = {
  abiVersion: { args: [], returns: 'int' },
  opensslVersion: { args: [], returns: 'str' },
  tapOpen: { args: ['name:str', 'vnetHdrBytes:int?'], returns: 'int' },
  tapSetOffload: { args: ['fd:int', 'flags:int'], returns: 'void' },
  readBatch: { args: ['fd:int', 'arena:bytes', 'stride:int', 'lens:u32s', 'max:int'], returns: 'int' },
  writeBatch: { args: ['fd:int', 'arena:bytes', 'offs:u32s', 'lens:u32s', 'count:int'], returns: 'int' },
  gsoSplit: {
    args: ['arena:bytes', 'off:int', 'len:int', 'vnetHdrBytes:int', 'out:bytes', 'outStride:int', 'outLens:u32s', 'max:int'],
    returns: 'int',
  },
  tapWriteCoalesced: {
    args: ['fd:int', 'arena:bytes', 'offs:u32s', 'lens:u32s', 'count:int', 'vnetHdrBytes:int', 'stats:u32s|null?'],
    returns: 'int',
  },
  udpOpen: { args: ['addr:str', 'port:int', 'bufBytes:int', 'reusePort:bool'], returns: 'int' },
  udpLocalPort: { args: ['fd:int'], returns: 'int' },
  udpRecvBatch: { args: ['fd:int', 'arena:bytes', 'stride:int', 'lens:u32s', 'addrs:u32s', 'max:int'], returns: 'int' },
  udpSendBatch: {
    args: ['fd:int', 'arena:bytes', 'offs:u32s', 'lens:u32s', 'addrs:u32s', 'count:int', 'errs:bytes|null?', 'gso:bool?'],
    returns: 'int',
  },
  udpSetGro: { args: ['fd:int', 'on:bool'], returns: 'void' },
  udpRecvBatchGro: {
    args: ['fd:int', 'arena:bytes', 'msgBytes:int', 'offs:u32s', 'lens:u32s', 'addrs:u32s', 'max:int'],
    returns: 'int',
  },
  pathMtu: { args: ['ip:str'], returns: 'int' },
  aeadCreate: { args: ['alg:str', 'key:bytes'], returns: 'aead' },
  aeadFree: { args: ['h:aead'], returns: 'void' },
  aeadSealBatch: {
    args: ['h:aead', 'arena:bytes', 'offs:u32s', 'lens:u32s', 'nonces:bytes', 'adOffs:u32s', 'adLens:u32s', 'count:int'],
    returns: 'int',
  },
  aeadOpenBatch: {
    args: ['h:aead', 'arena:bytes', 'offs:u32s', 'lens:u32s', 'nonces:bytes', 'adOffs:u32s', 'adLens:u32s', 'ok:bytes', 'count:int'],
    returns: 'int',
  },
  hasAesNi: { args: [], returns: 'bool' },
  pollStart: { args: ['fd:int', 'cb:fn'], returns: 'poll' },
  pollStop: { args: ['h:poll'], returns: 'void' },
  close: { args: ['fd:int'], returns: 'void' },
  netnsSocket: { args: ['family:int', 'type:int', 'protocol:int', 'nsPath:str?'], returns: 'int' },
  nlSetup: { args: ['fd:int', 'groups:u32s', 'rcvbufBytes:int'], returns: 'void' },
  nlSend: { args: ['fd:int', 'buf:bytes', 'len:int'], returns: 'int' },
  nlRecv: { args: ['fd:int', 'buf:bytes'], returns: 'int' },
  ethtoolSetTxCsum: { args: ['fd:int', 'ifname:str', 'on:bool'], returns: 'void' },
  tunSetPersist: { args: ['name:str', 'persist:bool'], returns: 'void' },
} as const satisfies Record<string, NativeFunctionSpec>;

/** Name of one function the addon exports. */
export type NativeFunctionName = keyof typeof NATIVE_FUNCTIONS;

type KindOf<S> = S extends `${string}:${infer K}?` ? K : S extends `${string}:${infer K}` ? K : never;
type ArgType<S> = ArgKinds[KindOf<S> & ArgKind];
/** The parameter tuple of an `args` list (a trailing `?` makes that parameter optional). */
type Params<A extends readonly unknown[]> = A extends readonly [infer H, ...infer T]
  ? H extends `${string}?` ? [ArgType<H>?, ...Params<T>] : [ArgType<H>, ...Params<T>]
  : [];
type Fn<S extends NativeFunctionSpec> = (...args: Params<S['args']>) => ResultKinds[S['returns']];

/** The addon's exports, exactly as C defines them: derived from {@link NATIVE_FUNCTIONS}. */
export type NativeAddon = { readonly [K in NativeFunctionName]: Fn<(typeof NATIVE_FUNCTIONS)[K]> };

/** How many arguments C accepts: `min` required, up to `max` (weft_args(env, info, min, max, argv)). */
export function nativeArity(name: NativeFunctionName): { min: number; max: number } {
  const args: readonly string[] = NATIVE_FUNCTIONS[name].args;
  return { min: args.filter((a) => !a.endsWith('?')).length, max: args.length };
}

let loaded: NativeAddon | null = null;
let buildOverride: string | null = null;

/** Absolute path of the compiled addon (repo root/build/Release, from dist/src/host/), or the test build chosen with {@link useNativeAddonBuild}. */
export function nativeAddonPath(): string {
  return buildOverride ?? fileURLToPath(new URL('../../../build/Release/weft_dp.node', import.meta.url));
}

/**
 * Test harnesses only (the sanitizer job, fuzz/native-asan.test.ts): load the addon from `path`
 * (e.g. build/asan/weft_dp.node) instead of build/Release. Must be called before the first
 * load; the daemon never calls it and no environment variable selects it.
 */
export function useNativeAddonBuild(path: string): void {
  if (loaded) throw new WeftError('WEFT_ERR_INTERNAL', 'useNativeAddonBuild: the addon is already loaded');
  buildOverride = path;
}

/**
 * Load the addon once per thread (Node caches it too) and check its ABI version. Throws
 * WeftError('WEFT_ERR_HOST') with a one-line fix when it is missing, fails to link, or is stale.
 */
export function loadNativeAddon(): NativeAddon {
  if (loaded) return loaded;
  const path = nativeAddonPath();
  let raw: NativeAddon;
  try {
    raw = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND') {
      throw new WeftError('WEFT_ERR_HOST', `native addon missing at ${path}: run npm ci (or npm run install) to build it`, { cause: e });
    }
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new WeftError('WEFT_ERR_HOST', `native addon failed to load (${msg}): rebuild it with npm run install`, { cause: e });
  }
  const abi = typeof raw.abiVersion === 'function' ? raw.abiVersion() : 0;
  if (abi !== NATIVE_ABI_VERSION) {
    throw new WeftError('WEFT_ERR_HOST', `native addon is stale (ABI ${abi}, need ${NATIVE_ABI_VERSION}): rebuild it with npm run install`);
  }
  loaded = raw;
  return raw;
}
