/**
 * The data plane's view of the raw addon binding: the TAP/UDP/AEAD/poll half of the one
 * declaration in src/host/native-addon.ts (NATIVE_FUNCTIONS), loaded by the same loader.
 * The raw binding takes flat positional arguments (no option objects) and throws plain
 * TypeError/RangeError/Error from C; `native-checked.ts` wraps it into the public
 * {@link NativeDataplane}. Only tests and benchmarks use the raw binding directly (to
 * exercise the C-side checks without the TypeScript ones in front).
 */
import { loadNativeAddon, type NativeAddon } from '../host/index.js';
import type { NativeDataplane } from './native-types.js';

export { NATIVE_ABI_VERSION, nativeAddonPath } from '../host/index.js';

/** The addon's data-plane exports (everything but the kernel edge's netlink/ethtool/TUN calls). */
export type RawNativeBinding = Omit<NativeAddon, 'netnsSocket' | 'nlSetup' | 'nlSend' | 'nlRecv' | 'ethtoolSetTxCsum' | 'tunSetPersist'>;

/** Compile-time check: every NativeDataplane method is a function the addon exports under that name. */
type MissingInAddon = Exclude<keyof NativeDataplane, keyof RawNativeBinding>;
const everyCheckedCallIsNative: [MissingInAddon] extends [never] ? true : MissingInAddon = true;
void everyCheckedCallIsNative;

/**
 * Load the raw addon (Node caches it per thread). Throws WeftError('WEFT_ERR_HOST') with a
 * one-line fix when it is missing, fails to link, or is stale.
 */
export function loadRawBinding(): RawNativeBinding {
  return loadNativeAddon();
}
