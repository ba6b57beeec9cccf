/**
 * The addon's surface is declared once (NATIVE_FUNCTIONS); this test fails when C disagrees:
 * a function registered in native/weft_dp.c or exported by the built addon but not declared
 * (or the reverse), a different order, or a different arity — from the C source (the
 * `weft_args(env, info, MIN, MAX, argv)` call of each registered function) and from the built
 * binary (a call with too few arguments must be refused by C with "expected at least MIN").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { NATIVE_FUNCTIONS, loadNativeAddon, nativeArity, type NativeFunctionName } from './native-addon.js';

const NATIVE_DIR = fileURLToPath(new URL('../../../native/', import.meta.url));

interface CFunction { js: string; c: string; min: number; max: number }

/** The registration table of weft_dp.c (`FN("jsName", c_function)`), with each function's arity from its body. */
function readCSurface(dir: string): CFunction[] {
  const sources = readdirSync(dir).filter((f) => f.endsWith('.c')).map((f) => readFileSync(join(dir, f), 'utf8'));
  const init = readFileSync(join(dir, 'weft_dp.c'), 'utf8');
  const table = /NAPI_MODULE_INIT\(\)\s*\{([\s\S]*?)\n\s*\};/.exec(init)?.[1];
  assert.ok(table, 'native/weft_dp.c: registration table not found');
  const out: CFunction[] = [];
  for (const [, js, c] of table.matchAll(/FN\("([A-Za-z0-9_]+)",\s*([A-Za-z0-9_]+)\)/g)) {
    const head = new RegExp(`^(?:static )?napi_value ${c}\\(napi_env env, napi_callback_info info\\) \\{$`, 'm');
    const src = sources.find((s) => head.test(s));
    assert.ok(src, `${c} (registered as ${js}) is not defined in native/*.c`);
    const start = src.search(head);
    const end = src.indexOf('\n}\n', start);
    const body = src.slice(start, end < 0 ? undefined : end);
    const args = /weft_args\(env, info, (\d+), (\d+), argv\)/.exec(body);
    if (args) out.push({ js: js!, c: c!, min: Number(args[1]), max: Number(args[2]) });
    else if (body.includes('(void)info')) out.push({ js: js!, c: c!, min: 0, max: 0 });
    else assert.fail(`${c}: cannot tell its arity (no weft_args call and no (void)info)`);
  }
  return out;
}

/** Every disagreement between the C side and a TypeScript table, one line each. */
function mismatches(c: CFunction[], exported: string[], ts: Record<string, { min: number; max: number }>): string[] {
  const problems: string[] = [];
  const tsNames = Object.keys(ts);
  const cNames = c.map((f) => f.js);
  for (const n of cNames) if (!(n in ts)) problems.push(`${n}: registered in native/weft_dp.c but not declared in NATIVE_FUNCTIONS`);
  for (const n of tsNames) if (!cNames.includes(n)) problems.push(`${n}: declared in NATIVE_FUNCTIONS but not registered in native/weft_dp.c`);
  for (const n of exported) if (!(n in ts)) problems.push(`${n}: exported by the built addon but not declared (stale build or undeclared function)`);
  for (const n of tsNames) if (!exported.includes(n)) problems.push(`${n}: declared but not exported by the built addon (rebuild: npm run install)`);
  for (const f of c) {
    const t = ts[f.js];
    if (t && (t.min !== f.min || t.max !== f.max)) {
      problems.push(`${f.js}: C (${f.c}) takes ${f.min}..${f.max} arguments, NATIVE_FUNCTIONS declares ${t.min}..${t.max}`);
    }
  }
  const common = cNames.filter((n) => n in ts);
  if (problems.length === 0 && common.join() !== tsNames.join()) problems.push('NATIVE_FUNCTIONS is not in the order of the registration table');
  return problems;
}

const tsArities = (): Record<string, { min: number; max: number }> =>
  Object.fromEntries((Object.keys(NATIVE_FUNCTIONS) as NativeFunctionName[]).map((n) => [n, nativeArity(n)]));

test('NATIVE_FUNCTIONS matches native/weft_dp.c and the built addon: the same functions, in order, with the same arity', () => {
  const c = readCSurface(NATIVE_DIR);
  assert.ok(c.length >= 20, `only ${c.length} registered functions parsed from native/weft_dp.c`);
  const addon = loadNativeAddon() as unknown as Record<string, unknown>;
  const exported = Object.keys(addon).filter((k) => typeof addon[k] === 'function');
  assert.deepEqual(mismatches(c, exported, tsArities()), []);
});

test('the built addon refuses a call with one argument too few, for every function that takes arguments', () => {
  const addon = loadNativeAddon() as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of Object.keys(NATIVE_FUNCTIONS) as NativeFunctionName[]) {
    const { min } = nativeArity(name);
    if (min === 0) continue;
    const fn = addon[name];
    assert.equal(typeof fn, 'function', name);
    assert.throws(() => fn!(...new Array<unknown>(min - 1).fill(undefined)),
      (e: unknown) => e instanceof TypeError && e.message === `expected at least ${min} arguments, got ${min - 1}`,
      `${name} with ${min - 1} arguments`);
  }
});

test('the comparison catches each kind of disagreement (checked against a broken table)', () => {
  const c: CFunction[] = [
    { js: 'a', c: 'weft_a', min: 1, max: 2 }, { js: 'b', c: 'weft_b', min: 0, max: 0 }, { js: 'onlyC', c: 'weft_c', min: 0, max: 0 },
  ];
  const problems = mismatches(c, ['a', 'b', 'onlyC', 'onlyBuilt'], { a: { min: 1, max: 1 }, b: { min: 0, max: 0 }, onlyTs: { min: 0, max: 0 } });
  assert.deepEqual(problems, [
    'onlyC: registered in native/weft_dp.c but not declared in NATIVE_FUNCTIONS',
    'onlyTs: declared in NATIVE_FUNCTIONS but not registered in native/weft_dp.c',
    'onlyC: exported by the built addon but not declared (stale build or undeclared function)',
    'onlyBuilt: exported by the built addon but not declared (stale build or undeclared function)',
    'onlyTs: declared but not exported by the built addon (rebuild: npm run install)',
    'a: C (weft_a) takes 1..2 arguments, NATIVE_FUNCTIONS declares 1..1',
  ]);
  assert.deepEqual(mismatches(c.slice(0, 2), ['a', 'b'], { b: { min: 0, max: 0 }, a: { min: 1, max: 2 } }),
    ['NATIVE_FUNCTIONS is not in the order of the registration table']);
});
