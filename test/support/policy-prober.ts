/**
 * The prober of the policy truth-table tests: a long-lived process inside a pod namespace
 * (`ip netns exec POD node policy-prober.js`), so a probe round costs no process start. Each
 * stdin line is one request `{ id, timeoutMs, probes: [{ ip, port, protocol: 'TCP' | 'UDP' }] }`;
 * it probes all of them at once and writes one line `{ id, results: [{ ip, port, protocol, ok,
 * answer }] }` (results in request order; requests may overlap). TCP is ok when the connection
 * opens and the server's `ok NAME PORT` line arrives, UDP when the answer datagram arrives (the
 * datagram is sent again every timeoutMs/4 to ride out a lost packet). Anything else within
 * timeoutMs (a dropped SYN, a refused connection, no answer) is not ok. Each UDP probe binds a
 * source port this prober has not used before (UDP_PORT_FIRST.., in turn): a new probe must
 * never ride on the conntrack entry an earlier, allowed probe left behind (conntrack keeps a
 * UDP flow for 30-120 s, and a reused random ephemeral port would pass as `established` after
 * a policy that forbids it — seen once in ~16,000 probes before this). A malformed line is
 * answered `{ id, error }`. Exits when stdin closes.
 */
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

interface Probe { ip: string; port: number; protocol: 'TCP' | 'UDP' }
interface Result extends Probe { ok: boolean; answer: string }

function probeTcp(p: Probe, timeoutMs: number): Promise<Result> {
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

/** UDP source ports, below the kernel's ephemeral range (32768..). */
const UDP_PORT_FIRST = 12_000, UDP_PORT_LAST = 32_000;
let nextUdpPort = UDP_PORT_FIRST;
function freshUdpPort(): number {
  const p = nextUdpPort;
  nextUdpPort = p >= UDP_PORT_LAST ? UDP_PORT_FIRST : p + 1;
  return p;
}

function probeUdp(p: Probe, timeoutMs: number): Promise<Result> {
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
    sock.bind(freshUdpPort(), send);
  });
}

interface Request { id: number; timeoutMs: number; probes: Probe[] }

function parseRequest(line: string): Request {
  const r = JSON.parse(line) as Partial<Request>;
  if (typeof r.id !== 'number' || !Array.isArray(r.probes)) throw new Error('needs id and probes');
  if (typeof r.timeoutMs !== 'number' || !Number.isInteger(r.timeoutMs) || r.timeoutMs < 50 || r.timeoutMs > 30_000) throw new Error('timeoutMs: 50..30000');
  return r as Request;
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === '') return;
  let req: Request;
  try {
    req = parseRequest(line);
  } catch (e) {
    process.stdout.write(JSON.stringify({ id: -1, error: `policy-prober: bad request: ${(e as Error).message}` }) + '\n');
    return;
  }
  void Promise.all(req.probes.map((p) => (p.protocol === 'UDP' ? probeUdp(p, req.timeoutMs) : probeTcp(p, req.timeoutMs))))
    .then((results) => { process.stdout.write(JSON.stringify({ id: req.id, results }) + '\n'); });
}).on('close', () => process.exit(0));
