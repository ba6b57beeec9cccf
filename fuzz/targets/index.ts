/** Every fuzz target, in report order. */
import type { FuzzTarget } from '../engine.js';
import { MESH_TARGETS } from './mesh.js';
import { CRYPTO_TARGETS } from './crypto.js';
import { IPAM_TARGETS } from './ipam.js';
import { DATAPLANE_TARGETS } from './dataplane.js';
import { EDGE_TARGETS } from './edges.js';
import { POLICY_TARGETS } from './policy.js';
import { DNS_TARGETS } from './dns.js';

export const TARGETS: readonly FuzzTarget[] = [...MESH_TARGETS, ...CRYPTO_TARGETS, ...IPAM_TARGETS, ...DATAPLANE_TARGETS, ...EDGE_TARGETS, ...POLICY_TARGETS, ...DNS_TARGETS];
export { cleanupIpamScratch } from './ipam.js';
export { apiRoutesAccepted } from './edges.js';
