/**
 * A deep copy of a plain object graph that keeps prototypes: Buffers and typed arrays are
 * copied byte for byte, Maps, Sets and arrays element by element, class instances field by
 * field (functions are shared). Used to start many inputs from one precomputed state (a
 * handshake positioned at its message) instead of redoing its Diffie-Hellman each time: the
 * copy holds the same bytes as the original, and wiping or mutating it leaves the original
 * as it was. Cycles are kept.
 */
export function deepClone<T>(value: T): T {
  return copy(value, new Map()) as T;
}

function copy(v: unknown, seen: Map<object, unknown>): unknown {
  if (v === null || typeof v !== 'object') return v; // primitives and functions
  const done = seen.get(v);
  if (done !== undefined) return done;
  if (Buffer.isBuffer(v)) {
    const b = Buffer.allocUnsafeSlow(v.length); // never the shared pool: a wipe must not reach neighbours
    v.copy(b);
    seen.set(v, b);
    return b;
  }
  if (ArrayBuffer.isView(v)) {
    const t = (v as unknown as { slice(): unknown }).slice();
    seen.set(v, t);
    return t;
  }
  if (v instanceof Map) {
    const m = new Map();
    seen.set(v, m);
    for (const [k, x] of v) m.set(copy(k, seen), copy(x, seen));
    return m;
  }
  if (v instanceof Set) {
    const s = new Set();
    seen.set(v, s);
    for (const x of v) s.add(copy(x, seen));
    return s;
  }
  if (Array.isArray(v)) {
    const a: unknown[] = [];
    seen.set(v, a);
    for (const x of v) a.push(copy(x, seen));
    return a;
  }
  const o = Object.create(Object.getPrototypeOf(v) as object | null) as Record<string | symbol, unknown>;
  seen.set(v, o);
  for (const k of Reflect.ownKeys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, k)!;
    if ('value' in d) d.value = copy(d.value, seen);
    Object.defineProperty(o, k, d);
  }
  return o;
}
