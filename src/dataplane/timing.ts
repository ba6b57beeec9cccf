/** Sleeve timing knobs: the constants.ts values by default; tests override some of them. */
import {
  SLEEVE_HEARTBEAT_FAST_MS, SLEEVE_HEARTBEAT_MS, SLEEVE_HEARTBEAT_TIMEOUT_MS, SLEEVE_REKEY_INTERVAL_MS, SLEEVE_REKEY_ACK_TIMEOUT_MS,
  SLEEVE_REKEY_AFTER_DATAGRAMS, SLEEVE_REJECT_AFTER_DATAGRAMS, SLEEVE_EPOCH_GRACE_MS, SLEEVE_MAC_MAX_AGE_MS,
  SLEEVE_MAC_SWEEP_MS, SLEEVE_PMTU_PROBE_TIMEOUT_MS, SLEEVE_PMTU_MAX_PROBES, SLEEVE_PMTU_RECHECK_MS,
  SLEEVE_TICK_MS, SLEEVE_IDLE_TICK_MS, REPLAY_WINDOW_PACKETS, SLEEVE_PMTU_FLOOR_BYTES,
} from '../common/index.js';
import type { EpochTiming } from './link-crypto.js';

/** Every timing value of the engine (ms unless named otherwise). */
export interface SleeveTiming extends EpochTiming {
  heartbeatFastMs: number;
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  macMaxAgeMs: number;
  macSweepMs: number;
  pmtuProbeTimeoutMs: number;
  pmtuMaxProbes: number;
  pmtuRecheckMs: number;
  pmtuFloorBytes: number;
  tickMs: number;
  /** Tick while all links are quiet (capped at heartbeatMs / 5; never below tickMs). */
  idleTickMs: number;
}

export const DEFAULT_SLEEVE_TIMING: Readonly<SleeveTiming> = Object.freeze({
  heartbeatFastMs: SLEEVE_HEARTBEAT_FAST_MS,
  heartbeatMs: SLEEVE_HEARTBEAT_MS,
  heartbeatTimeoutMs: SLEEVE_HEARTBEAT_TIMEOUT_MS,
  rekeyIntervalMs: SLEEVE_REKEY_INTERVAL_MS,
  rekeyAckTimeoutMs: SLEEVE_REKEY_ACK_TIMEOUT_MS,
  rekeyAfterDatagrams: SLEEVE_REKEY_AFTER_DATAGRAMS,
  rejectAfterDatagrams: SLEEVE_REJECT_AFTER_DATAGRAMS,
  epochGraceMs: SLEEVE_EPOCH_GRACE_MS,
  replayWindow: REPLAY_WINDOW_PACKETS,
  macMaxAgeMs: SLEEVE_MAC_MAX_AGE_MS,
  macSweepMs: SLEEVE_MAC_SWEEP_MS,
  pmtuProbeTimeoutMs: SLEEVE_PMTU_PROBE_TIMEOUT_MS,
  pmtuMaxProbes: SLEEVE_PMTU_MAX_PROBES,
  pmtuRecheckMs: SLEEVE_PMTU_RECHECK_MS,
  pmtuFloorBytes: SLEEVE_PMTU_FLOOR_BYTES,
  tickMs: SLEEVE_TICK_MS,
  idleTickMs: SLEEVE_IDLE_TICK_MS,
});
