import { BENCH_REACH_TIMEOUT_MS, WeftError, describeError, type Logger } from '../src/common/index.js';
import { waitTcpReachable } from './conn-rate.js';
import { iperfServerArgv, runIperfClient, waitIperfListening } from './iperf.js';
import type { AccountingScope, RoundTarget } from './measure.js';
import { exec } from './netns.js';
import { waitReachable } from './ping.js';
import type { RoundSample, ScenarioResult } from './report.js';
import { Sandbox } from './sandbox.js';
import { lastLine } from './wait.js';
import type { Daemon, Scenario, ScenarioEndpoints } from './types.js';

/**
 * Lifecycle of one scenario inside a run: check, bring up (sandbox + setup + reachability +
 * iperf3 server + warm-up), keep its iperf3 server alive between rounds, tear down.
 */

/** Budget for a scenario's check(). ms */
const CHECK_TIMEOUT_MS = 15_000;
/** Budget for building hosts + scenario setup. ms */
const SETUP_TIMEOUT_MS = 90_000;
/** Budget for one scenario's teardown, and again for namespace removal. ms */
const TEARDOWN_TIMEOUT_MS = 30_000;
/** Budget for the iperf3 server to start listening. ms */
const SERVER_LISTEN_TIMEOUT_MS = 10_000;
/** Warm-up iperf3 run after setup (ARP, handshakes, caches). s */
const WARMUP_S = 1;

/** A scenario that is up and measured in the rounds. */
export interface ActiveScenario {
  scenario: Scenario;
  sandbox: Sandbox;
  endpoints: ScenarioEndpoints;
  result: ScenarioResult;
  scope: AccountingScope;
  /** What the rounds measure between (endpoints, ICMP, connection rate). */
  target: RoundTarget;
  server: Daemon;
  /** The last round ended with a failed iperf3 run: restart the server before the next. */
  restartServer: boolean;
}

/** What bringing a scenario up needs from the run. */
export interface RunContext {
  runId: string;
  lifetimeS: number;
  clkTck: number;
  log: Logger;
  signal: AbortSignal;
  say: (line: string) => void;
}

/** Resolves with `p`, or rejects WEFT_ERR_TIMEOUT after `ms` (calling `onTimeout` first). */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new WeftError('WEFT_ERR_TIMEOUT', `${what} took longer than ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Names of existing `wfb…` namespaces (left by a SIGKILLed run, or another run in progress). */
export async function staleNamespaces(): Promise<string[]> {
  const r = await exec(null, ['ip', 'netns', 'list'], { allowFail: true, timeoutMs: 5_000 }).catch(() => null);
  return (r?.stdout ?? '').split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => /^wfb[0-9a-f]{4}/.test(n));
}

/** The scenario's check(), bounded; a throw or timeout becomes the reason. */
export async function checkScenario(s: Scenario): Promise<string | null> {
  return withTimeout(s.check(), CHECK_TIMEOUT_MS, `${s.name} check`).catch(
    (e: unknown) => `check failed: ${describeError(e)}`,
  );
}

/** Tears one scenario down: its own teardown, then the sandbox. Bounded; never throws. */
export async function tearDown(s: Scenario, sandbox: Sandbox, log: Logger): Promise<void> {
  sandbox.beginTeardown();
  try {
    await withTimeout(s.teardown(), TEARDOWN_TIMEOUT_MS, `${s.name} teardown`);
  } catch (e) {
    log.warn({ scenario: s.name, err: describeError(e) }, 'scenario teardown failed');
  }
  await withTimeout(sandbox.destroy(), TEARDOWN_TIMEOUT_MS, `${s.name} namespace removal`).catch((e) =>
    log.warn({ scenario: s.name, err: describeError(e) }, 'namespace removal failed'),
  );
}

/**
 * Builds the sandbox, runs setup (bounded), waits until pod2 answers, starts the iperf3 server
 * and warms up. Returns the active scenario, or null after recording a one-line failure reason
 * in `result` (everything already torn down). Rethrows when the run was aborted.
 */
export async function bringUp(ctx: RunContext, s: Scenario, idx: number, result: ScenarioResult): Promise<ActiveScenario | null> {
  const ctl = new AbortController();
  const sandbox = new Sandbox(
    `${ctx.runId}${idx.toString(36)}`, ctx.lifetimeS, ctx.log.child({ scenario: s.name }), AbortSignal.any([ctx.signal, ctl.signal]),
  );
  const t0 = Date.now();
  try {
    const setup = (async () => {
      await sandbox.create();
      return s.setup(sandbox);
    })();
    const endpoints = await withTimeout(setup, SETUP_TIMEOUT_MS, `${s.name} setup`, () => ctl.abort()).catch(async (e) => {
      await withTimeout(setup, 10_000, 'aborted setup').catch(() => undefined); // let it unwind
      throw e;
    });
    if (endpoints.icmp === false) {
      if (!endpoints.connRate) throw new WeftError('WEFT_ERR_INTERNAL', `${s.name}: pods without ICMP need connRate for the reachability check`);
      const { bin, port } = endpoints.connRate;
      await waitTcpReachable(endpoints.clientNs, bin, endpoints.serverIp, port, BENCH_REACH_TIMEOUT_MS, sandbox.signal);
    } else {
      await waitReachable(endpoints.clientNs, endpoints.serverIp, BENCH_REACH_TIMEOUT_MS, sandbox.signal);
    }
    result.setupMs = Date.now() - t0;
    const server = sandbox.spawnDaemon(endpoints.serverNs, 'iperf3 server', iperfServerArgv(endpoints.serverIp));
    await waitIperfListening(endpoints.serverNs, SERVER_LISTEN_TIMEOUT_MS, sandbox.signal);
    await runIperfClient(endpoints.clientNs, endpoints.serverIp, WARMUP_S, 1, sandbox.signal);
    if (endpoints.mtu !== undefined) result.mtu = endpoints.mtu;
    if (endpoints.detail !== undefined) result.detail = endpoints.detail;
    const [h1, h2] = sandbox.hosts;
    ctx.say(`${s.name}: up in ${(result.setupMs / 1000).toFixed(1)} s`);
    return {
      scenario: s, sandbox, endpoints, result, server, restartServer: false,
      scope: { hostNs: [h1.ns, h2.ns], allNs: sandbox.allNamespaces, userspace: s.userspace, clkTck: ctx.clkTck },
      target: {
        clientNs: endpoints.clientNs, serverIp: endpoints.serverIp,
        ...(endpoints.icmp === false ? { icmp: false } : {}), ...(endpoints.connRate ? { connRate: endpoints.connRate } : {}),
      },
    };
  } catch (e) {
    const dead = sandbox.exitedDaemons().map((d) => `; ${d.label} exited: ${lastLine(d)}`).join('');
    await tearDown(s, sandbox, ctx.log);
    if (ctx.signal.aborted) throw e;
    result.status = 'failed';
    result.reason = `${describeError(e)}${dead}`;
    ctx.say(`${s.name}: failed: ${result.reason}`);
    return null;
  }
}

/** (Re)starts a scenario's iperf3 server when it died or the previous client run failed. */
export function serverKeeper(a: ActiveScenario, signal: AbortSignal): (previousFailed: boolean) => Promise<void> {
  return async (previousFailed) => {
    if (a.server.running && !previousFailed && !a.restartServer) return;
    a.restartServer = false;
    await a.server.stop();
    a.server = a.sandbox.spawnDaemon(a.endpoints.serverNs, 'iperf3 server', iperfServerArgv(a.endpoints.serverIp));
    await waitIperfListening(a.endpoints.serverNs, SERVER_LISTEN_TIMEOUT_MS, signal);
  };
}

/** One progress line for a measured round. */
export function roundLine(name: string, round: number, rounds: number, sample: RoundSample): string {
  const f = (v: number | null | undefined, d = 0): string => (v === undefined || v === null ? '–' : v.toFixed(d));
  return (
    `round ${round}/${rounds} ${name}: ${f(sample.single?.mbps)} / ${f(sample.multi?.mbps)} Mbit/s, ` +
    `rtt ${f(sample.ping?.avgMs, 3)} ms, cpu ${f(sample.single?.overlayCpuPct)} %, ` +
    `foreign ${f(sample.single?.foreignPct)} %${sample.conn ? `, ${f(sample.conn.perSecond)} conn/s` : ''}${sample.errors.length ? `; ${sample.errors.join('; ')}` : ''}`
  );
}
