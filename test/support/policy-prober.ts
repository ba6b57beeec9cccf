/**
 * The prober of the policy truth-table tests: run inside a pod namespace
 * (`ip netns exec POD node policy-prober.js TIMEOUT_MS`), it reads a JSON array of
 * `{ ip, port, protocol: 'TCP' | 'UDP' }` on stdin, probes all of them at once and prints one
 * JSON array of `{ ip, port, protocol, ok, answer }`: TCP is ok when the connection opens and the
 * server's `ok NAME PORT` line arrives, UDP when the answer datagram arrives (the datagram is sent
 * again every TIMEOUT_MS/4 to ride out a lost packet). Anything else within TIMEOUT_MS
 * (a dropped SYN, a refused connection, no answer) is not ok.
 */
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';

interface Probe { ip: string; port: number; protocol: 'TCP' | 'UDP' }
interface Result extends Probe { ok: boolean; answer: string }

const timeoutMs = Number(process.argv[2] ?? '1000');
if (!Number.isInteger(timeoutMs) || timeoutMs < 50 || timeoutMs > 30_000) {
  console.error(`policy-prober: bad timeout "${process.argv[2]}" (50..30000 ms)`);
  process.exit(2);
}

function probeTcp(p: Probe): Promise<Result> {
  return new Promise((resolve) => {
    let answer = '';
    let done = false;
    const s = connect({ host: p.ip, port: p.port });
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ...p, ok, answer: answer.trim() });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => { answer += d; if (answer.includes('\n')) finish(answer.startsWith('ok ')); });
    s.on('error', () => finish(false));
    s.on('close', () => finish(answer.startsWith('ok ')));
  });
}

function probeUdp(p: Probe): Promise<Result> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    let done = false;
    const send = (): void => sock.send('probe', p.port, p.ip, () => undefined);
    const finish = (ok: boolean, answer: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(again);
      sock.close();
      resolve({ ...p, ok, answer: answer.trim() });
    };
    const timer = setTimeout(() => finish(false, ''), timeoutMs);
    const again = setInterval(send, Math.max(10, Math.floor(timeoutMs / 4)));
    sock.on('message', (m) => finish(m.toString('utf8').startsWith('ok '), m.toString('utf8')));
    sock.on('error', () => finish(false, ''));
    sock.bind(0, send);
  });
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => { input += d; });
process.stdin.on('end', () => {
  let probes: Probe[];
  try {
    probes = JSON.parse(input) as Probe[];
    if (!Array.isArray(probes)) throw new Error('not an array');
  } catch (e) {
    console.error(`policy-prober: stdin is not a JSON array of probes: ${(e as Error).message}`);
    process.exit(2);
  }
  void Promise.all(probes.map((p) => (p.protocol === 'UDP' ? probeUdp(p) : probeTcp(p))))
    .then((r) => { process.stdout.write(JSON.stringify(r) + '\n'); });
});
