import type { Scenario } from '../types.js';
import { fastdScenario } from './fastd.js';
import { kernelVxlanScenario } from './kernel-vxlan.js';
import { nebulaScenario } from './nebula.js';
import { rawVethScenario } from './raw-veth.js';
import { tincScenario } from './tinc.js';
import { wireguardGoScenario } from './wireguard-go.js';
import { weftSleeveScenario } from './weft.js';
import { weftFastpathScenario } from './weft-fastpath.js';
import { weftPolicyScenario } from './weft-policy.js';
import { THIS_BUILD, baselineBuild, type WeftBuild } from './weft-build.js';

export { fastdScenario, parseFastdKeys } from './fastd.js';
export { kernelVxlanScenario } from './kernel-vxlan.js';
export { nebulaScenario } from './nebula.js';
export { rawVethScenario } from './raw-veth.js';
export { tincScenario } from './tinc.js';
export { weftPendingScenario } from './weft-pending.js';
export { wireguardGoScenario } from './wireguard-go.js';
export { weftSleeveScenario } from './weft.js';
export { weftFastpathScenario } from './weft-fastpath.js';
export { weftPolicyScenario, policyRowName, type PolicyPath } from './weft-policy.js';
export { THIS_BUILD, baselineBuild, type WeftBuild } from './weft-build.js';

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

/** weft's rows for one build. */
export function weftScenarios(build: WeftBuild = THIS_BUILD): Scenario[] {
  return [weftSleeveScenario(true, build), weftSleeveScenario(false, build),
    weftFastpathScenario('vxlan', false, build), weftFastpathScenario('hostgw', false, build),
    weftFastpathScenario('vxlan', true, build), weftFastpathScenario('hostgw', true, build),
    ...policyScenarios(build)];
}

/**
 * The network-policy rows (issue 12): per data path, weft without policy and with the 1,000
 * policies of the scale world in force, each `weft-PATH-policy1k` reported against its
 * `weft-PATH-nopolicy` (throughput and new-connection rate).
 */
export function policyScenarios(build: WeftBuild = THIS_BUILD): Scenario[] {
  return (['sleeve', 'vxlan', 'hostgw'] as const).flatMap((p) => [weftPolicyScenario(p, false, build), weftPolicyScenario(p, true, build)]);
}

/**
 * Everything `npm run bench` measures: the references, then weft's rows; with `baselineDir`
 * (`--baseline-build`) also the weft rows of that built checkout, named NAME@base.
 */
export function defaultScenarios(baselineDir?: string): Scenario[] {
  return [...referenceScenarios(), ...weftScenarios(), ...(baselineDir !== undefined ? weftScenarios(baselineBuild(baselineDir)) : [])];
}
