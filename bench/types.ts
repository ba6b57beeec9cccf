import type { Logger } from '../src/common/index.js';

/**
 * Contracts of the benchmark harness. A {@link Scenario} is one way of connecting pod1 to pod2
 * (no overlay, kernel VXLAN, a reference VPN, later weft itself); the harness builds the
 * underlay, asks the scenario to set itself up, measures every scenario in interleaved rounds
 * and reports medians as ratios against the baselines.
 */

/** Result of one command run by {@link ScenarioEnv.exec}. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when the process was killed by a signal (timeout, abort). */
  code: number | null;
}

/** Options of {@link ScenarioEnv.exec}. */
export interface ExecOptions {
  /** Kill the command after this long. ms (default BENCH_EXEC_TIMEOUT_MS) */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Return non-zero exits instead of throwing WEFT_ERR_HOST. */
  allowFail?: boolean;
}

/**
 * A long-lived process started for a scenario (overlay daemon, iperf3 server). It runs inside
 * one namespace under `timeout`, so it ends by itself after its lifetime even if the harness
 * dies. `stop()` is idempotent and never throws: SIGTERM, then SIGKILL after a grace period.
 */
export interface Daemon {
  readonly label: string;
  /** True until the process (or its `timeout` wrapper) exited. */
  readonly running: boolean;
  /** Last few KB of its stdout+stderr, for one-line failure reasons. */
  outputTail(): string;
  stop(): Promise<void>;
}

/** Options of {@link ScenarioEnv.spawnDaemon}. */
export interface SpawnOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** One simulated host: a network namespace with its end of the underlay veth. */
export interface HostNs {
  readonly ns: string;
  /** Underlay veth device in this namespace. */
  readonly underlayDev: string;
  /** This host's underlay address (no prefix length), e.g. "198.18.0.1". */
  readonly underlayIp: string;
}

/** The two pods built by {@link ScenarioEnv.routedPods} / {@link ScenarioEnv.bridgedPods}. */
export interface PodPair {
  /** Client pod (in host 1) and server pod (in host 2) namespaces. */
  readonly clientNs: string;
  readonly serverNs: string;
  readonly clientIp: string;
  readonly serverIp: string;
  /** Pod subnets (CIDR); routed mode: one per host, bridged mode: the same shared subnet. */
  readonly clientSubnet: string;
  readonly serverSubnet: string;
  /** Host-side device of each pod veth (in the host namespaces). */
  readonly hostDevs: readonly [string, string];
}

/** Bridged pods: each host has a bridge holding its pod veth; the overlay adds its port. */
export interface BridgedPodPair extends PodPair {
  /** Bridge device in host 1 / host 2. */
  readonly bridges: readonly [string, string];
}

/** Options of the pod builders. */
export interface PodOptions {
  /** MTU of both ends of the pod veth (and the bridge); the overlay's inner MTU. bytes */
  mtu: number;
  /** Switch TX checksum offload off on the pod veths (frames pass through userspace). */
  txOffloadOff: boolean;
}

/**
 * What the harness hands a scenario's `setup`. Host namespaces and the underlay veth already
 * exist and are up. Everything created through the env (namespaces, daemons) is also torn
 * down by the harness after `teardown()`, so a failed setup leaves nothing behind.
 */
export interface ScenarioEnv {
  /** Unique per run and scenario (8 chars); prefix every link, file and socket name with it. */
  readonly prefix: string;
  readonly hosts: readonly [HostNs, HostNs];
  /** Private directory for config files and keys; removed after teardown. */
  readonly tmpDir: string;
  /** Every daemon must end by itself after this long (enforced by spawnDaemon). s */
  readonly lifetimeS: number;
  readonly log: Logger;
  /** Aborted on Ctrl-C / SIGTERM; long waits should watch it. */
  readonly signal: AbortSignal;
  /**
   * Runs argv inside namespace `ns` (null: the harness's own namespace) with a timeout; throws
   * WeftError on failure. Killed on Ctrl-C, except once teardown began (cleanup still runs).
   */
  exec(ns: string | null, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts a bounded-lifetime daemon inside `ns`. */
  spawnDaemon(ns: string, label: string, argv: readonly string[], opts?: SpawnOptions): Daemon;
  /** Pods in separate subnets, each host routing its pod; the scenario routes between hosts. */
  routedPods(opts: PodOptions): Promise<PodPair>;
  /** Pods in one subnet behind a bridge per host; the scenario bridges the hosts (L2). */
  bridgedPods(opts: PodOptions): Promise<BridgedPodPair>;
  /**
   * An empty pod namespace `<prefix>-<suffix>` (loopback up, IPv6 off), removed with the
   * sandbox: for scenarios whose overlay plumbs the pod itself (`weft attach`). Returns its name.
   */
  podNetns(suffix: string): Promise<string>;
}

/** What a scenario's setup returns: where iperf3's server and client run. */
export interface ScenarioEndpoints {
  readonly serverNs: string;
  readonly clientNs: string;
  readonly serverIp: string;
  /** Overlay inner MTU, reported with the results. bytes */
  readonly mtu?: number;
  /** Short note shown in the JSON (cipher, mode). */
  readonly detail?: string;
  /**
   * False when the pods drop ICMP (e.g. isolated by network policy): no ping step, and
   * reachability is checked over TCP to `connRate.port` instead (then required). Default true.
   */
  readonly icmp?: boolean;
  /** Measure the new-connection rate too: the conn-loop binary and the port its server listens on in the server pod. */
  readonly connRate?: { readonly bin: string; readonly port: number };
}

/**
 * One way of connecting the two pods, measured by the harness.
 *
 * Lifecycle: the harness calls `check()` (no side effects); if it returns null, then in every
 * round it builds fresh hosts, calls `setup(env)`, measures, and calls `teardown()` — also
 * after a failed or aborted setup — before the next row is set up. So only the row being
 * measured runs: no other row's idle daemons are part of the load it is measured under.
 * `setup` may thus run several times on one object (each followed by `teardown`); `teardown`
 * must be idempotent, never throw, forget the previous setup's state, and release what `setup`
 * created beyond the env's own namespaces and daemons (which the harness removes anyway). One
 * object serves one run: scenarios are built by factories so that state never leaks between runs.
 */
export interface Scenario {
  /** Row name, e.g. "wireguard-go". Unique within a run. */
  readonly name: string;
  /** One line: what is measured. */
  readonly description: string;
  /**
   * True when the overlay runs as processes in the host namespaces (their CPU and RSS are
   * measured); false for kernel-only paths, reported as n/a.
   */
  readonly userspace: boolean;
  /**
   * Name of the row this row is a variant of (same data path, one thing changed, e.g. 1,000
   * network policies in force): the report then shows this row's medians as ratios of that row's.
   */
  readonly pairedWith?: string;
  /** Returns null when the scenario can run, else a one-line reason (e.g. missing binary). */
  check(): Promise<string | null>;
  setup(env: ScenarioEnv): Promise<ScenarioEndpoints>;
  teardown(): Promise<void>;
}
