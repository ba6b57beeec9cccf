/** Limits the route schemas enforce (no dependencies: clients may use them too). */

/** Most peers one connect/forget call may name. count */
export const MAX_PEERS_PER_CALL = 1024;
/** Longest owner id (CNI: `cni/<network>/<containerID>/<ifname>`). characters */
export const MAX_OWNER_LENGTH = 256;
