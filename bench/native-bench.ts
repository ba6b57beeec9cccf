/**
 * Micro-benchmark of the addon's AEAD batches against sodium-native, measured in the same
 * run: per-packet cost of sealing (and opening) 1400-byte messages, batch 32, in place.
 * Method as in /work/shared/docs/node-dataplane.md §1: variants interleaved round-robin,
 * median of the rounds, min-max spread reported. Measurement only, never a pass/fail test.
 *
 * `runNativeBench()` is called by the project's bench harness; `node dist/bench/native-bench.js`
 * runs it alone and prints the table.
 */
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import sodium from 'sodium-native';
import { loadNative, type AeadAlg, type NativeDataplane } from '../src/dataplane/native.js';

/** One benchmark result row. */
export interface Row {
  /** e.g. "addon aes-256-gcm seal, 32/call". */
  name: string;
  impl: 'addon' | 'sodium-native';
  alg: AeadAlg;
  op: 'seal' | 'open';
  /** Messages per native call (1 for sodium-native, which has no batch API). */
  batch: number;
  /** Plaintext bytes per message. */
  msgBytes: number;
  /** Median CPU time per message over the rounds (process user + system). ns */
  nsPerPkt: number;
  /** Fastest and slowest round. ns */
  nsMin: number;
  nsMax: number;
  /** 1e9 / nsPerPkt on one core. messages/s */
  pktPerSec: number;
  /** Plaintext throughput on one core. MB/s (1e6 bytes) */
  mbPerSec: number;
  /** sodium-native ChaCha20-Poly1305 ns/pkt ÷ this row's ns/pkt for the same op (>1 = faster). */
  speedupVsSodium: number;
}

/** Options of {@link runNativeBench}. */
export interface NativeBenchOptions {
  /** Wall-clock length of one timed run per variant per round. ms (default 400) */
  runMs?: number;
  /** Interleaved rounds; the median is reported. (default 3) */
  rounds?: number;
  /** Message size. bytes (default 1400) */
  msgBytes?: number;
  /** Messages per addon call. (default 32) */
  batch?: number;
}

interface Variant {
  name: string;
  impl: Row['impl'];
  alg: AeadAlg;
  op: Row['op'];
  batch: number;
  /** Processes `batch` messages once. */
  step: () => void;
  cleanup?: () => void;
}

/**
 * Run `step` for about `ms` of wall time; return CPU ns per message (user + system time of
 * this process, so time spent descheduled on a busy machine does not count).
 */
function timeVariant(v: Variant, ms: number): number {
  const limit = BigInt(ms) * 1_000_000n;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let msgs = 0;
  do {
    for (let k = 0; k < 8; k++) v.step();
    msgs += 8 * v.batch;
  } while (process.hrtime.bigint() - t0 < limit);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1e3) / msgs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function addonVariant(n: NativeDataplane, alg: AeadAlg, op: Row['op'], batch: number, size: number): Variant {
  const h = n.aeadCreate(alg, randomBytes(32));
  const stride = size + 16;
  const arena = randomBytes(batch * stride);
  const offs = new Uint32Array(batch).map((_, i) => i * stride);
  const lens = new Uint32Array(batch).fill(size);
  const noAd = new Uint32Array(batch);
  const nonces = Buffer.alloc(12 * batch);
  let ctr = 0;
  const nextNonces = () => { for (let i = 0; i < batch; i++) nonces.writeUInt32LE(ctr++ >>> 0, 12 * i + 4); };
  const base = { impl: 'addon' as const, alg, op, batch, cleanup: () => n.aeadFree(h) };
  if (op === 'seal') {
    return { ...base, name: `addon ${alg} seal, ${batch}/call`, step: () => { nextNonces(); n.aeadSealBatch(h, arena, offs, lens, nonces, noAd, noAd, batch); } };
  }
  // Open needs fresh ciphertext every time (open is in place): keep a sealed copy and
  // restore it before each call; the copy is part of the measured cost, as on the real path.
  nextNonces();
  n.aeadSealBatch(h, arena, offs, lens, nonces, noAd, noAd, batch);
  const sealed = Buffer.from(arena);
  const openLens = new Uint32Array(batch).fill(stride);
  const ok = new Uint8Array(batch);
  return {
    ...base, name: `addon ${alg} open, ${batch}/call (incl. copy)`,
    step: () => { sealed.copy(arena); n.aeadOpenBatch(h, arena, offs, openLens, nonces, noAd, noAd, ok, batch); },
  };
}

function sodiumVariant(op: Row['op'], batch: number, size: number): Variant {
  const key = randomBytes(32);
  const nonce = Buffer.alloc(12);
  const slots = Array.from({ length: batch }, () => randomBytes(size + 16));
  const plain = slots.map((s) => s.subarray(0, size)); // in place: c overlaps m
  let ctr = 0;
  const base = { impl: 'sodium-native' as const, alg: 'chacha20-poly1305' as const, op, batch };
  if (op === 'seal') {
    return {
      ...base, name: 'sodium-native chacha20-poly1305 seal, 1/call (JS loop)',
      step: () => {
        for (let i = 0; i < batch; i++) {
          nonce.writeUInt32LE(ctr++ >>> 0, 4);
          sodium.crypto_aead_chacha20poly1305_ietf_encrypt(slots[i]!, plain[i]!, null, null, nonce, key);
        }
      },
    };
  }
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(slots[0]!, plain[0]!, null, null, nonce, key);
  const out = Buffer.alloc(size);
  return {
    ...base, name: 'sodium-native chacha20-poly1305 open, 1/call (JS loop)',
    step: () => {
      for (let i = 0; i < batch; i++) sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, slots[0]!, null, nonce, key);
    },
  };
}

/** Measure and return the rows (sodium-native first, then the addon variants). */
export async function runNativeBench(opts: NativeBenchOptions = {}): Promise<Row[]> {
  const runMs = opts.runMs ?? 400, rounds = opts.rounds ?? 3, size = opts.msgBytes ?? 1400, batch = opts.batch ?? 32;
  const n = loadNative();
  const variants: Variant[] = [];
  for (const op of ['seal', 'open'] as const) {
    variants.push(sodiumVariant(op, batch, size));
    for (const alg of ['chacha20-poly1305', 'aes-256-gcm'] as const) variants.push(addonVariant(n, alg, op, batch, size));
  }
  try {
    for (const v of variants) timeVariant(v, 50); // warm-up (JIT, caches, CPU frequency)
    const samples = variants.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < variants.length; i++) {
        samples[i]!.push(timeVariant(variants[i]!, runMs));
        await new Promise((res) => setImmediate(res)); // let the event loop breathe
      }
    }
    const rows = variants.map((v, i): Row => {
      const ns = median(samples[i]!);
      return {
        name: v.name, impl: v.impl, alg: v.alg, op: v.op, batch: v.impl === 'addon' ? v.batch : 1, msgBytes: size,
        nsPerPkt: ns, nsMin: Math.min(...samples[i]!), nsMax: Math.max(...samples[i]!),
        pktPerSec: 1e9 / ns, mbPerSec: (size * 1e3) / ns, speedupVsSodium: 1,
      };
    });
    for (const row of rows) {
      const ref = rows.find((r) => r.impl === 'sodium-native' && r.op === row.op)!;
      row.speedupVsSodium = ref.nsPerPkt / row.nsPerPkt;
    }
    return rows;
  } finally {
    for (const v of variants) v.cleanup?.();
  }
}

/** Fixed-width text table of the rows. */
export function formatNativeBench(rows: Row[]): string {
  const head = ['variant', 'ns/pkt', 'min-max', 'pkt/s', 'MB/s', 'vs sodium'];
  const body = rows.map((r) => [r.name, r.nsPerPkt.toFixed(0), `${r.nsMin.toFixed(0)}-${r.nsMax.toFixed(0)}`,
    Math.round(r.pktPerSec).toLocaleString('en-US'), r.mbPerSec.toFixed(0), `${r.speedupVsSodium.toFixed(2)}x`]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  const line = (cells: string[]) => cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runNativeBench();
  const n = loadNative();
  console.log(`AEAD per packet, ${rows[0]!.msgBytes}-byte messages, in place (${n.opensslVersion()}, AES-NI: ${n.hasAesNi()})`);
  console.log(formatNativeBench(rows));
}
