/**
 * Runs inside a Node process with libasan preloaded (spawned by native-asan.test.ts): loads the
 * sanitizer build of the addon (argv[2]) through the normal loader, fuzzes the argument checks
 * of every function in NATIVE_FUNCTIONS, then imports the addon's own unit tests so they run
 * against the same build. A memory error or undefined behaviour aborts the process (ASan/UBSan
 * report on stderr); a call that neither returns nor throws a JS Error fails the run.
 *
 * Safety: file-descriptor arguments are always invalid (-1, huge, or a number far above any open
 * fd), and interface names are never valid strings, so no call touches a real device or stdio;
 * the pure functions (gsoSplit, aead*) get real buffers with offsets and lengths in and out of range.
 */
import assert from 'node:assert/strict';
import { NATIVE_FUNCTIONS, loadNativeAddon, useNativeAddonBuild, type NativeFunctionName } from '../src/host/native-addon.js';
import { Rng } from './rng.js';

const path = process.argv[2];
if (!path) throw new Error('usage: native-asan-child ADDON_PATH [TEST_FILE…]');
useNativeAddonBuild(path);
const addon = loadNativeAddon() as unknown as Record<string, (...a: unknown[]) => unknown>;
const rng = new Rng(Number(process.env.WEFT_FUZZ_SEED ?? 7));
/** One of `xs` (which may hold undefined, unlike Rng.pick). */
const any = (xs: readonly unknown[]): unknown => xs[rng.int(xs.length)];
const CALLS = Number(process.env.WEFT_ASAN_CALLS ?? 20_000);

const BAD_FD = [-1, 2 ** 31, 2 ** 32, 1.5, NaN, Infinity, 999_999, 'x', null, undefined, {}, 1n];
const ANY = [undefined, null, true, 0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 32, 2 ** 53, 'x', '', {}, [], () => 0, 1n, Symbol('s'),
  new Uint8Array(0), new Uint32Array(0), new Float64Array(4), new ArrayBuffer(8), new DataView(new ArrayBuffer(8))];

function bytes(): Uint8Array {
  const n = rng.pick([0, 1, 15, 16, 31, 32, 64, 100, 1500, 4096, 65536, 1 << 20]);
  return rng.chance(0.5) ? Buffer.alloc(n) : new Uint8Array(n).subarray(rng.int(2), n);
}
function u32s(): Uint32Array {
  const a = new Uint32Array(rng.pick([0, 1, 2, 4, 8, 64, 300]));
  for (let i = 0; i < a.length; i++) a[i] = rng.boundary() >>> 0;
  return rng.chance(0.2) ? a.subarray(1) : a;
}
function int(): number {
  return rng.chance(0.7) ? rng.pick([0, 1, 2, 10, 12, 14, 16, 64, 1500, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]) : rng.pick([-1, 0.5, 2 ** 32, 2 ** 53, NaN, -0]);
}

const aeadHandles = [addon.aeadCreate!('chacha20-poly1305', Buffer.alloc(32, 1)), addon.aeadCreate!('aes-256-gcm', Buffer.alloc(32, 2))];
/** String arguments that must never name something real. */
const NAME_ARGS = new Set(['tapOpen:name', 'tunSetPersist:name', 'ethtoolSetTxCsum:ifname', 'netnsSocket:nsPath']);

function value(fn: NativeFunctionName, spec: string): unknown {
  const [name, kindQ] = spec.split(':') as [string, string];
  const kind = kindQ.replace('?', '');
  if (rng.chance(0.15)) return any(ANY); // wrong type, any argument
  if (name === 'fd' || name === 'h' && kind === 'poll') return any(BAD_FD);
  switch (kind) {
    case 'str':
      if (NAME_ARGS.has(`${fn}:${name}`)) return rng.pick([1, null, 'x'.repeat(16), 'x'.repeat(300), 'a/b'.repeat(2000), '/nonexistent/weft-asan']);
      if (fn === 'udpOpen') return rng.pick(['127.0.0.1', '::1', '0.0.0.0', 'not an address', '1.2.3.4.5', '']);
      return rng.pick(['chacha20-poly1305', 'aes-256-gcm', 'x', '', '10.0.0.1', 'x'.repeat(100)]);
    case 'int': return int();
    case 'bool': return rng.chance(0.5);
    case 'bytes': return bytes();
    case 'bytes|null': return rng.chance(0.3) ? null : bytes();
    case 'u32s': return u32s();
    case 'u32s|null': return rng.chance(0.3) ? null : u32s();
    case 'fn': return () => undefined;
    case 'aead': return rng.pick(aeadHandles);
    default: return any(ANY);
  }
}

/** Functions whose success has an effect to undo: they return an fd (udpOpen binds a socket). */
const RETURNS_FD = new Set(['udpOpen', 'netnsSocket', 'tapOpen']);
const SKIP = new Set(['aeadFree']); // exercised below on handles of its own (freeing the shared ones would end the run's AEAD cover)
let returned = 0;
let threw = 0;
for (let i = 0; i < CALLS; i++) {
  const fn = rng.pick(Object.keys(NATIVE_FUNCTIONS) as NativeFunctionName[]);
  if (SKIP.has(fn)) continue;
  const specs: readonly string[] = NATIVE_FUNCTIONS[fn].args;
  let args = specs.map((s) => value(fn, s));
  if (rng.chance(0.1)) args = args.slice(0, rng.int(args.length + 1)); // too few (or optional left out)
  else if (rng.chance(0.05)) args = [...args, 1, 'extra'];
  try {
    const r = addon[fn]!(...args);
    returned++;
    if (RETURNS_FD.has(fn) && typeof r === 'number') addon.close!(r);
    if (fn === 'udpOpen' || fn === 'netnsSocket' || fn === 'tapOpen') assert.ok(typeof r === 'number', `${fn} returned ${String(r)}`);
  } catch (e) {
    threw++;
    assert.ok(e instanceof Error, `${fn}(${args.map((a) => typeof a).join(', ')}) threw a non-Error: ${String(e)}`);
  }
}
// aeadFree: double free and use after free must be refused, not crash
for (let i = 0; i < 50; i++) {
  const h = addon.aeadCreate!('chacha20-poly1305', Buffer.alloc(32, i));
  addon.aeadFree!(h);
  addon.aeadFree!(h);
  const arena = Buffer.alloc(64);
  assert.throws(() => addon.aeadSealBatch!(h, arena, Uint32Array.of(0), Uint32Array.of(16), Buffer.alloc(12), Uint32Array.of(0), Uint32Array.of(0), 1));
}
console.log(`native-asan: ${CALLS} fuzzed calls (${returned} returned, ${threw} threw JS errors), no sanitizer report`);

// the addon's own unit tests, against this build (node:test runs them when this module ends)
for (const file of process.argv.slice(3)) await import(file);
