/**
 * A handshake flooder for tests, run inside a lab namespace:
 *   node dist/test/support/flood-peer.js HOST PORT MODE CONNS DURATION_MS SOURCES
 * MODE: idle (connect, send nothing: the daemon's handshake timeout must close us) or bogus
 * (connect, send a valid prelude and a garbage handshake frame at once).
 * CONNS sockets are kept open at once, spread round-robin over the comma-separated local
 * SOURCES addresses; a socket that closes is replaced (after 10 ms) until DURATION_MS has
 * passed; then the flooder waits (bounded) until every socket has closed.
 * A socket counts as accepted when the daemon's prelude (6 bytes) arrives on it — the daemon
 * writes it the moment it admits a connection; refused ones are closed without a byte.
 * Prints one JSON line (FloodReport).
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { encodePrelude } from '../../src/mesh/prelude.js';

/** What the flooder saw. Times in ms since the flood started. */
export interface FloodReport {
  opened: number;
  accepted: number;
  refused: number;
  /** Accepted sockets that were still open when the flooder gave up waiting. */
  stillOpen: number;
  /** Most accepted sockets open at the same moment. */
  maxConcurrentAccepted: number;
  /** Lifetimes (accepted → closed by the daemon) of accepted idle sockets. ms */
  acceptedLifetimesMs: number[];
  /** Accepts per source address. */
  acceptedBySource: Record<string, number>;
  /** Accept times (ms since start), for rate checks. */
  acceptTimesMs: number[];
  durationMs: number;
}

const [host = '', portS = '', mode = 'idle', connsS = '1', durationS = '1000', sourcesS = ''] = process.argv.slice(2);
const port = Number(portS);
const conns = Number(connsS);
const durationMs = Number(durationS);
const sources = sourcesS.split(',').filter(Boolean);
const REOPEN_MS = 10;
const DRAIN_LIMIT_MS = 15_000;

const t0 = Date.now();
const rep: FloodReport = {
  opened: 0, accepted: 0, refused: 0, stillOpen: 0, maxConcurrentAccepted: 0, acceptedLifetimesMs: [],
  acceptedBySource: {}, acceptTimesMs: [], durationMs: 0,
};
let openAccepted = 0;
let live = 0;
const bogus = Buffer.concat([encodePrelude(), Buffer.from([0, 0, 0, 60]), randomBytes(60)]);

function open(slot: number): void {
  const localAddress = sources.length ? sources[slot % sources.length] : undefined;
  const s: Socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
  rep.opened++;
  live++;
  let acceptedAt = -1;
  let got = 0;
  s.on('connect', () => { if (mode === 'bogus') s.write(bogus); });
  s.on('data', (d) => {
    got += d.length;
    if (acceptedAt < 0 && got >= 6) {
      acceptedAt = Date.now();
      rep.accepted++;
      rep.acceptTimesMs.push(acceptedAt - t0);
      const k = localAddress ?? 'default';
      rep.acceptedBySource[k] = (rep.acceptedBySource[k] ?? 0) + 1;
      openAccepted++;
      rep.maxConcurrentAccepted = Math.max(rep.maxConcurrentAccepted, openAccepted);
    }
  });
  s.on('error', () => { /* close follows */ });
  s.on('close', () => {
    if (acceptedAt >= 0) {
      openAccepted--;
      if (mode === 'idle') rep.acceptedLifetimesMs.push(Date.now() - acceptedAt);
    } else {
      rep.refused++;
    }
    // The slot stays live while its replacement is scheduled.
    if (Date.now() - t0 < durationMs) setTimeout(() => { live--; open(slot); }, REOPEN_MS);
    else live--;
  });
}

async function main(): Promise<void> {
  for (let i = 0; i < conns; i++) open(i);
  const end = Date.now() + durationMs + DRAIN_LIMIT_MS;
  while (live > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  rep.stillOpen = openAccepted;
  rep.durationMs = Date.now() - t0;
  process.stdout.write(JSON.stringify(rep) + '\n');
  process.exit(0);
}

void main();
