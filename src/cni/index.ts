/**
 * The CNI plugins `weft-net` (main plugin: veth onto the weft bridge, address from the
 * daemon's IPAM) and `weft-ipam` (IPAM only, for other main plugins), CNI spec 0.3.0–1.1.0 with
 * every verb (ADD, DEL, CHECK, STATUS, GC, VERSION); see docs/cni.md for configuration, error
 * codes and GC.
 *
 * weft-net's verbs run inside the daemon ({@link weftNetVerbs} over the daemon's attach
 * orchestration, answered by {@link answerCni} on `POST /cni`); the plugin process is a thin
 * client that validates and forwards ({@link runWeftNetClient}, or the compiled front end
 * native/cni_front.c). weft-ipam is a short-lived client of the daemon's IPAM routes.
 *
 * Entry points (cmd/weft-net.ts, cmd/weft-ipam.ts):
 *   process.exitCode = await runWeftNetClient();
 *   process.exitCode = await runCniPlugin(weftIpamPlugin);
 *
 * Only the protocol shell is loaded at start; the API client is imported by the verbs that
 * need it, so VERSION and configuration errors stay fast.
 */
export { runCniPlugin, runCniShell, processIo, type CniPlugin, type PluginIo, type PluginRequest, type ShellAnswer } from './plugin-main.js';
export { weftNetVerbs } from './weft-net.js';
export { runWeftNetClient } from './cni-client.js';
export { answerCni, FORWARDED_CNI_VARS, type CniInvocation, type CniAnswer } from './cni-server.js';
export { PodLinks, netnsPresent, netnsProblem, type NetnsProblem } from './pod-link.js';
export type {
  AttachBackend, PodAttachSpec, PodAttachOutcome, PodIdentitySpec, PodDetachSpec, PodAddressing, AddressRequest, CniAddressBook,
} from './backend.js';
export { weftIpamPlugin } from './weft-ipam.js';
export { CniError, toCniError, type CniErrorCode, type CniErrorResult } from './cni-error.js';
export { SUPPORTED_CNI_VERSIONS, LATEST_CNI_VERSION, type CniVersion } from './versions.js';
export { formatResult, parseResult, type CniResult, type CniInterface, type CniIpConfig, type CniRoute, type CniDns } from './cni-result.js';
export { parseNetConf, ownerId, ownerPrefix, type NetConf, type PluginKind, type CniAttachment } from './netconf.js';
export { parseCniEnv, parseCniArgs, CNI_COMMANDS, type CniCommand, type CniEnv } from './cni-env.js';
export { installCni, exampleConflist, type InstallCniOptions, type InstallCniReport } from './install.js';
