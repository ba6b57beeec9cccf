/**
 * The DNS bench's client, run inside a pod (`ip netns exec POD node dist/bench/dns-probe.js …`):
 *   load SERVER NAME RATE SECONDS   queries NAME (A) at RATE per second for SECONDS over UDP and
 *                                   prints {"sent","answered","lost","p50Ms","p99Ms","maxMs"}
 *   watch SERVER                    reads names on stdin, one per line; for each, asks SERVER
 *                                   every 5 ms until it answers an address, then prints
 *                                   "NAME EPOCH_MS" (the wall-clock time of that answer)
 */
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import dnsPacket from 'dns-packet';

const [mode, server = '', ...rest] = process.argv.slice(2);

function query(id: number, name: string): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function load(name: string, rate: number, seconds: number): Promise<void> {
  const sock = createSocket('udp4');
  const sentAt = new Map<number, bigint>();
  const lat: number[] = [];
  sock.on('message', (m) => {
    const id = m.readUInt16BE(0);
    const t = sentAt.get(id);
    if (t === undefined) return;
    sentAt.delete(id);
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  });
  await new Promise<void>((r) => sock.bind(0, r));
  const total = rate * seconds;
  const start = process.hrtime.bigint();
  for (let i = 0; i < total; i++) {
    // Paced on the clock: query i leaves at i/rate seconds (late ones go at once, never skipped).
    const due = start + BigInt(Math.round((i * 1e9) / rate));
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const id = i % 65536;
    sentAt.set(id, process.hrtime.bigint());
    sock.send(query(id, name), 53, server);
  }
  await new Promise((r) => setTimeout(r, 1000));
  sock.close();
  const s = lat.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ sent: total, answered: s.length, lost: total - s.length, p50Ms: pct(s, 50), p99Ms: pct(s, 99), maxMs: s[s.length - 1] ?? NaN })}\n`);
}

async function watch(): Promise<void> {
  const sock = createSocket('udp4');
  const pending = new Set<string>();
  const byId = new Map<number, string>();
  let next = 1;
  sock.on('message', (m) => {
    let r;
    try {
      r = dnsPacket.decode(m);
    } catch {
      return;
    }
    const name = byId.get(r.id ?? -1);
    if (name === undefined) return;
    byId.delete(r.id!);
    if (pending.has(name) && (r.answers ?? []).some((a) => a.type === 'A')) {
      pending.delete(name);
      process.stdout.write(`${name} ${Date.now()}\n`);
    }
  });
  await new Promise<void>((r) => sock.bind(0, r));
  setInterval(() => {
    if (byId.size > 10_000) byId.clear(); // answers that never came
    for (const name of pending) {
      const id = next++ % 65536;
      byId.set(id, name);
      sock.send(query(id, name), 53, server);
    }
  }, 5);
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim()) pending.add(line.trim());
  }).on('close', () => process.exit(0));
}

if (mode === 'load') await load(rest[0]!, Number(rest[1]), Number(rest[2]));
else if (mode === 'watch') await watch();
else {
  process.stderr.write('usage: dns-probe load SERVER NAME RATE SECONDS | watch SERVER\n');
  process.exit(2);
}
