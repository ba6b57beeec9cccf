/**
 * Pod-side helper of the underlay confidentiality test, run inside a pod namespace:
 *   node dist/test/support/marker-peer.js serve PORT            (TCP and UDP echo on PORT; prints "ready")
 *   node dist/test/support/marker-peer.js send HOST PORT MARKER (sends MARKER over TCP and UDP, waits for the echoes)
 * `send` prints one JSON line { tcp: boolean, udp: boolean } (true = the echo came back intact)
 * and exits 0; it gives up after 10 s. `serve` runs until killed.
 */
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';

const [cmd, a1 = '', a2 = '', a3 = ''] = process.argv.slice(2);
const LIMIT_MS = 10_000;

function serve(port: number): void {
  createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => undefined)).listen(port, '0.0.0.0');
  const u = createSocket('udp4');
  u.on('message', (m, r) => u.send(m, r.port, r.address));
  u.bind(port, '0.0.0.0', () => process.stdout.write('ready\n'));
}

async function send(host: string, port: number, marker: string): Promise<void> {
  const want = Buffer.from(marker);
  const tcp = new Promise<boolean>((resolve) => {
    const s = connect({ host, port });
    let got = Buffer.alloc(0);
    s.on('connect', () => s.write(want));
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= want.length) { s.end(); resolve(got.equals(want)); }
    });
    s.on('error', () => resolve(false));
  });
  const udp = new Promise<boolean>((resolve) => {
    const u = createSocket('udp4');
    // Resent every 200 ms until the echo arrives (the first may race ARP).
    const timer = setInterval(() => u.send(want, port, host), 200);
    u.on('message', (m) => { clearInterval(timer); u.close(); resolve(m.equals(want)); });
    u.send(want, port, host);
  });
  const limit = new Promise<false>((r) => setTimeout(() => r(false), LIMIT_MS).unref());
  const [t, d] = await Promise.all([Promise.race([tcp, limit]), Promise.race([udp, limit])]);
  process.stdout.write(JSON.stringify({ tcp: t, udp: d }) + '\n');
  process.exit(0);
}

if (cmd === 'serve') serve(Number(a1));
else if (cmd === 'send') void send(a1, Number(a2), a3);
else { process.stderr.write(`marker-peer: unknown command ${cmd}\n`); process.exit(2); }
