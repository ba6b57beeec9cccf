/**
 * A misbehaving peer for tests, run inside a lab namespace:
 *   node dist/test/support/bad-peer.js HOST PORT MODE COUNT [PASSWORD_FILE]
 * MODE: random (random bytes), magic (valid magic, then garbage), oversize (valid prelude, then
 * a 4 GiB length prefix), truncated (prelude + half a handshake frame, then hang up),
 * replay (a valid message 1 sent twice on two connections — needs the secret), slow (open and
 * send nothing until the daemon's handshake timeout closes us).
 * Prints one JSON line: { sent, closedByPeer }.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Handshake, generateIdentity, loadClusterSecret } from '../../src/crypto/index.js';
import { encodePrelude } from '../../src/mesh/prelude.js';

const [host, portS, mode, countS, pwFile] = process.argv.slice(2);
const port = Number(portS);
const count = Number(countS ?? '1');

function once(payloads: Buffer[], waitMs = 300): Promise<{ closed: boolean; reply: Buffer }> {
  return new Promise((resolve) => {
    const s: Socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let closed = false;
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => { closed = true; });
    s.on('close', () => { closed = true; });
    s.on('connect', () => { for (const p of payloads) s.write(p); });
    setTimeout(() => { s.destroy(); resolve({ closed, reply: Buffer.concat(chunks) }); }, waitMs);
  });
}

function frame(b: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(b.length);
  return Buffer.concat([h, b]);
}

async function main(): Promise<void> {
  let closedByPeer = 0;
  let sent = 0;
  const psk = pwFile ? (await loadClusterSecret({ passwordFile: pwFile, env: {} })).psk : null;
  let replayMsg: Buffer | null = null;
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    let payloads: Buffer[];
    let waitMs = 300;
    switch (mode) {
      case 'random': payloads = [randomBytes(1 + Math.floor(Math.random() * 4096))]; waitMs = 150; break;
      case 'magic': payloads = [Buffer.from('weft'), randomBytes(200)]; waitMs = 150; break;
      case 'oversize': payloads = [encodePrelude(), Buffer.from([0xff, 0xff, 0xff, 0xff]), randomBytes(64)]; waitMs = 150; break;
      case 'truncated': payloads = [encodePrelude(), Buffer.from([0, 0, 0, 60]), randomBytes(30)]; waitMs = 50; break;
      case 'slow': payloads = []; waitMs = 7000; break;
      case 'replay': {
        if (!replayMsg) {
          // Prologue = initiator prelude ‖ responder prelude (both the same version range here).
          const hs = new Handshake({ role: 'initiator', identity: generateIdentity(), psk, prologue: Buffer.concat([encodePrelude(), encodePrelude()]) });
          replayMsg = hs.writeMessage();
        }
        payloads = [encodePrelude(), frame(replayMsg)];
        break;
      }
      default: throw new Error(`unknown mode ${mode}`);
    }
    const job = once(payloads, waitMs).then((r) => { sent++; if (r.closed) closedByPeer++; });
    if (mode === 'replay') await job; // in order: the first is fresh, the rest are replays
    jobs.push(job);
    if (jobs.length % 8 === 0) await Promise.all(jobs.slice(-8));
  }
  await Promise.all(jobs);
  process.stdout.write(JSON.stringify({ sent, closedByPeer }) + '\n');
}

main().catch((e) => { process.stderr.write(`bad-peer: ${(e as Error).message}\n`); process.exit(1); });
