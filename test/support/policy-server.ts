/**
 * A pod's servers for the policy truth-table tests: run inside a pod namespace
 * (`ip netns exec POD node policy-server.js NAME PORT...`), it listens on TCP and UDP on every
 * PORT (all addresses) and answers each TCP connection and each UDP datagram with
 * `ok NAME PORT\n`, so a prober can tell which pod and port answered. Prints `ready` on stdout
 * once every socket listens; exits on SIGTERM or when stdin closes.
 */
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

const [name, ...portArgs] = process.argv.slice(2);
if (!name || portArgs.length === 0) {
  console.error('usage: policy-server NAME PORT...');
  process.exit(2);
}
const ports = portArgs.map((p) => {
  const n = Number(p);
  if (!Number.isInteger(n) || n < 1 || n > 65535) { console.error(`policy-server: bad port "${p}"`); process.exit(2); }
  return n;
});

let pending = ports.length * 2;
const ready = (): void => { if (--pending === 0) console.log('ready'); };
for (const port of ports) {
  const tcp = createServer((s) => { s.on('error', () => undefined); s.end(`ok ${name} ${port}\n`); });
  tcp.on('error', (e) => { console.error(`policy-server: tcp ${port}: ${e.message}`); process.exit(1); });
  tcp.listen({ port, host: '0.0.0.0' }, ready);
  const udp = createSocket('udp4');
  udp.on('error', (e) => { console.error(`policy-server: udp ${port}: ${e.message}`); process.exit(1); });
  udp.on('message', (_m, r) => udp.send(`ok ${name} ${port}\n`, r.port, r.address));
  udp.bind(port, '0.0.0.0', ready);
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
