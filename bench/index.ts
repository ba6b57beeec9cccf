/**
 * Benchmark harness (`npm run bench`): measures pod-to-pod TCP throughput, RTT and overlay CPU
 * across two simulated hosts (network namespaces joined by a veth underlay) for baselines
 * (raw veth routing, kernel VXLAN), reference VPNs (wireguard-go, tinc, nebula, fastd) and —
 * as further {@link Scenario}s — weft's own data paths, all in one run of interleaved rounds.
 *
 * Plugging in a scenario: write a factory returning a {@link Scenario}; in `setup(env)` build
 * pods with `env.routedPods()`/`env.bridgedPods()`, start daemons with `env.spawnDaemon()` in
 * `env.hosts[i].ns`, and return `{ clientNs, serverNs, serverIp }`. Append it to the list
 * passed to {@link runBench} (see `defaultScenarios()`); its row is then reported as ratios
 * against raw-veth and wireguard-go.
 *
 * @packageDocumentation
 */
export { runBench, DEFAULT_BASELINES, type BenchOptions, type BenchReport } from './runner.js';
export type {
  Scenario,
  ScenarioEnv,
  ScenarioEndpoints,
  HostNs,
  PodPair,
  BridgedPodPair,
  PodOptions,
  Daemon,
  SpawnOptions,
  ExecOptions,
  ExecResult,
} from './types.js';
export {
  defaultScenarios,
  referenceScenarios,
  rawVethScenario,
  kernelVxlanScenario,
  wireguardGoScenario,
  tincScenario,
  nebulaScenario,
  fastdScenario,
  weftPendingScenario,
  weftPolicyScenario,
  policyScenarios,
} from './scenarios/index.js';
export {
  formatTable,
  formatQuietTable,
  formatPairTable,
  type PairTargets,
  tableLegend,
  summarize,
  type Baselines,
  type ScenarioResult,
  type ScenarioSummary,
  type RoundSample,
  type StreamSample,
} from './report.js';
export type { Spread } from './stats.js';
export type { MachineInfo } from './machine.js';
export { parseBenchArgs, BENCH_USAGE, type BenchArgs } from './args.js';
