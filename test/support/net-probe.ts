/**
 * A tiny TCP/UDP server and client for policy tests, run inside a namespace with
 * `ip netns exec NS node dist/test/support/net-probe.js …`:
 *   serve tcp:80,udp:53,…     listen on every port (dual stack, `::`); TCP sends "ok\n" on
 *                             connect and echoes; UDP answers every datagram with "ok"; prints
 *                             "ready" once everything listens
 *   probe tcp|udp HOST PORT MS  exit 0 when "ok" arrives within MS, 1 otherwise
 *   hold HOST PORT            one TCP connection: every stdin line is sent, every echoed line
 *                             printed ("ok" first); exits when the connection closes
 */
import { createConnection, createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

const [, , cmd, ...args] = process.argv;

function serve(spec: string): void {
  const ports = spec.split(',');
  let pending = ports.length;
  const up = (): void => { if (--pending === 0) process.stdout.write('ready\n'); };
  for (const p of ports) {
    const [proto, port] = p.split(':');
    if (proto === 'tcp') {
      createServer((s) => { s.on('error', () => undefined); s.write('ok\n'); s.pipe(s); }).listen({ port: Number(port), host: '::' }, up);
    } else {
      const u = createSocket({ type: 'udp6' });
      u.on('message', (_m, r) => u.send('ok', r.port, r.address));
      u.bind({ port: Number(port), address: '::' }, up);
    }
  }
}

function probe(proto: string, host: string, port: number, ms: number): void {
  const done = (ok: boolean): never => process.exit(ok ? 0 : 1);
  setTimeout(() => done(false), ms).unref();
  if (proto === 'tcp') {
    const s = createConnection({ host, port });
    s.on('data', (d) => { if (d.toString().startsWith('ok')) done(true); });
    s.on('error', () => done(false));
  } else {
    const u = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    u.on('message', (m) => done(m.toString() === 'ok'));
    u.on('error', () => done(false));
    u.send('hi', port, host);
  }
}

function hold(host: string, port: number): void {
  const s = createConnection({ host, port });
  s.setEncoding('utf8');
  s.on('data', (d: string) => process.stdout.write(d));
  s.on('error', (e) => { process.stdout.write(`error ${e.message}\n`); process.exit(1); });
  s.on('close', () => process.exit(0));
  createInterface({ input: process.stdin }).on('line', (l) => s.write(`${l}\n`)).on('close', () => s.end());
}

if (cmd === 'serve') serve(args[0] ?? '');
else if (cmd === 'probe') probe(args[0] ?? 'tcp', args[1] ?? '', Number(args[2]), Number(args[3] ?? 1000));
else if (cmd === 'hold') hold(args[0] ?? '', Number(args[1]));
else { process.stderr.write('usage: net-probe serve|probe|hold …\n'); process.exit(2); }
