import type { Scenario } from '../types.js';
import { fastdScenario } from './fastd.js';
import { kernelVxlanScenario } from './kernel-vxlan.js';
import { nebulaScenario } from './nebula.js';
import { rawVethScenario } from './raw-veth.js';
import { tincScenario } from './tinc.js';
import { wireguardGoScenario } from './wireguard-go.js';
import { weftSleeveScenario } from './weft.js';
import { weftFastpathScenario } from './weft-fastpath.js';

export { fastdScenario, parseFastdKeys } from './fastd.js';
export { kernelVxlanScenario } from './kernel-vxlan.js';
export { nebulaScenario } from './nebula.js';
export { rawVethScenario } from './raw-veth.js';
export { tincScenario } from './tinc.js';
export { weftPendingScenario } from './weft-pending.js';
export { wireguardGoScenario } from './wireguard-go.js';
export { weftSleeveScenario } from './weft.js';
export { weftFastpathScenario } from './weft-fastpath.js';

/** Baselines and reference VPNs, fresh objects each call (one set per run). */
export function referenceScenarios(): Scenario[] {
  return [
    rawVethScenario(),
    kernelVxlanScenario(),
    wireguardGoScenario(),
    tincScenario(),
    nebulaScenario(),
    fastdScenario(),
  ];
}

/** Everything `npm run bench` measures: the references, then weft's rows. */
export function defaultScenarios(): Scenario[] {
  return [...referenceScenarios(), weftSleeveScenario(true), weftSleeveScenario(false),
    weftFastpathScenario('vxlan'), weftFastpathScenario('hostgw'), weftFastpathScenario('vxlan', true), weftFastpathScenario('hostgw', true)];
}
