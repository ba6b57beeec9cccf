/**
 * The data-plane addon's public surface: {@link loadNative} returns the checked
 * {@link NativeDataplane} (batched TAP/UDP I/O, uv_poll readiness, in-place AEAD batches).
 * The C side lives in native/ (see native/README.md); its surface is declared once in
 * src/host/native-addon.ts. This file, native-types.ts (the documented checked API),
 * native-raw.ts (the raw view, derived) and native-checked.ts are the data plane's wrapper.
 */
import { CheckedNativeDataplane } from './native-checked.js';
import { loadRawBinding } from './native-raw.js';
import type { NativeDataplane } from './native-types.js';

export {
  LEN_NOT_IPV4, LEN_TRUNCATED, TunOffload, UdpSendStatus, VirtioNet,
  type AeadAlg, type AeadHandle, type NativeDataplane, type PollHandle, type TapOpenOptions,
  type UdpOpenOptions,
} from './native-types.js';
export { fromNativeError, nativeErrno } from './native-checked.js';
export { NATIVE_ABI_VERSION, nativeAddonPath, loadRawBinding, type RawNativeBinding } from './native-raw.js';

/**
 * Load build/Release/weft_dp.node (via createRequire) and wrap it. Cheap after the first call
 * (Node caches the addon per thread). Throws WeftError('WEFT_ERR_HOST', …) with the fix
 * ("run npm ci") when the addon is missing, does not link, or is from an older build.
 */
export function loadNative(): NativeDataplane {
  return new CheckedNativeDataplane(loadRawBinding());
}

/** Like {@link loadNative}, but null instead of throwing (for optional fast paths and tests). */
export function tryLoadNative(): NativeDataplane | null {
  try {
    return loadNative();
  } catch {
    return null;
  }
}
