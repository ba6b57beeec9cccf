/**
 * A raw-socket initiator for tests, run inside a lab namespace:
 *   node dist/test/support/raw-handshake.js HOST PORT PASSWORD_FILE
 * Connects, reads the responder's 6-byte prelude, sends ours and one message 1 made with the
 * secret in PASSWORD_FILE, then records every byte that arrives after message 1 until the
 * responder closes (or 4 s pass). Prints one JSON line:
 *   { prelude: bytes before message 1, after: bytes after it, closed: boolean, closeMs: ms from message 1 to the close }
 */
import { connect } from 'node:net';
import { Handshake, generateIdentity, loadClusterSecret } from '../../src/crypto/index.js';
import { encodePrelude } from '../../src/mesh/prelude.js';
import { PRELUDE_BYTES } from '../../src/common/index.js';

const [host, portS, pwFile] = process.argv.slice(2);
const WAIT_MS = 4_000;

async function main(): Promise<void> {
  const psk = (await loadClusterSecret({ passwordFile: pwFile!, env: {} })).psk;
  const s = connect({ host: host!, port: Number(portS) });
  let before = Buffer.alloc(0);
  let after = 0;
  let sentAt = 0;
  const result = await new Promise<{ closed: boolean; closeMs: number }>((resolve) => {
    const timer = setTimeout(() => resolve({ closed: false, closeMs: -1 }), WAIT_MS);
    s.on('data', (d: Buffer) => {
      if (sentAt > 0) { after += d.length; return; }
      before = Buffer.concat([before, d]);
      if (before.length < PRELUDE_BYTES) return;
      const theirs = before.subarray(0, PRELUDE_BYTES);
      const ours = encodePrelude();
      const hs = new Handshake({ role: 'initiator', identity: generateIdentity(), psk, prologue: Buffer.concat([ours, theirs]) });
      const m1 = hs.writeMessage();
      const len = Buffer.alloc(4);
      len.writeUInt32BE(m1.length);
      s.write(Buffer.concat([ours, len, m1]));
      sentAt = Date.now();
      after += before.length - PRELUDE_BYTES;
    });
    s.on('error', () => undefined);
    s.on('close', () => { clearTimeout(timer); resolve({ closed: true, closeMs: sentAt > 0 ? Date.now() - sentAt : -1 }); });
  });
  s.destroy();
  process.stdout.write(JSON.stringify({ prelude: Math.min(before.length, PRELUDE_BYTES), after, ...result }) + '\n');
}

main().catch((e) => { process.stderr.write(`raw-handshake: ${(e as Error).message}\n`); process.exit(1); });
