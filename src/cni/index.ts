/**
 * The CNI plugins `weft-net` (main plugin: veth onto the weft bridge, address from the
 * daemon's IPAM) and `weft-ipam` (IPAM only, for other main plugins), CNI spec 0.3.0–1.1.0 with
 * every verb (ADD, DEL, CHECK, STATUS, GC, VERSION). Both are thin, short-lived clients of the
 * weft daemon's API socket; see docs/cni.md for configuration, error codes and GC.
 *
 * Entry points (cmd/weft-net.ts, cmd/weft-ipam.ts):
 *   process.exitCode = await runCniPlugin(weftNetPlugin);
 *
 * Only the protocol shell is loaded at start; the API client and host plumbing are imported
 * by the verbs that need them, so VERSION and configuration errors stay fast.
 */
export { runCniPlugin, processIo, type CniPlugin, type PluginIo, type PluginRequest } from './plugin-main.js';
export { weftNetPlugin } from './weft-net.js';
export { weftIpamPlugin } from './weft-ipam.js';
export { CniError, toCniError, type CniErrorCode, type CniErrorResult } from './cni-error.js';
export { SUPPORTED_CNI_VERSIONS, LATEST_CNI_VERSION, type CniVersion } from './versions.js';
export { formatResult, parseResult, type CniResult, type CniInterface, type CniIpConfig, type CniRoute, type CniDns } from './cni-result.js';
export { parseNetConf, ownerId, ownerPrefix, type NetConf, type PluginKind, type CniAttachment } from './netconf.js';
export { parseCniEnv, CNI_COMMANDS, type CniCommand, type CniEnv } from './cni-env.js';
export { installCni, exampleConflist, type InstallCniOptions, type InstallCniReport } from './install.js';
