/** Structure-aware mutation of JSON documents (API bodies, CNI configuration, IPAM records). */
import type { Rng } from '../rng.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Set an own property, even "__proto__" (as JSON.parse does), never the prototype. */
function put(o: { [k: string]: Json }, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A random JSON value of any type (nested at most `depth` levels). */
export function randomJson(rng: Rng, depth = 2): Json {
  switch (rng.int(depth > 0 ? 8 : 6)) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.pick([0, -0, 1, -1, 0.5, 68, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324]);
    case 3: return rng.u32() - 2 ** 31;
    case 4: return rng.text(12);
    case 5: return rng.pick(['', '/', '/run/x', '10.0.0.1', '10.0.0.0/24', '::1', 'a'.repeat(5000), '\u0000', '../..', 'eth0', '02:00:00:00:00:01', '0.3.0', '1.1.0', 'ADD']);
    case 6: return Array.from({ length: rng.smallLength(5) }, () => randomJson(rng, depth - 1));
    default: {
      const o: { [k: string]: Json } = {};
      for (let i = rng.smallLength(4); i > 0; i--) put(o, rng.pick(['a', 'name', 'type', 'x', '__proto__', 'constructor', rng.text(6)]), randomJson(rng, depth - 1));
      return o;
    }
  }
}

/** `v` with one random change somewhere inside: a value replaced, a key dropped or added. */
export function mutateJson(rng: Rng, v: unknown): unknown {
  const doc = JSON.parse(JSON.stringify(v ?? null)) as Json;
  const nodes: { parent: { [k: string]: Json } | Json[]; key: string | number }[] = [];
  const walk = (x: Json): void => {
    if (Array.isArray(x)) x.forEach((c, i) => { nodes.push({ parent: x, key: i }); walk(c); });
    else if (x !== null && typeof x === 'object') for (const [key, c] of Object.entries(x)) { nodes.push({ parent: x, key }); walk(c); }
  };
  walk(doc);
  if (nodes.length === 0 || rng.chance(0.05)) return rng.chance(0.5) ? randomJson(rng) : deep(rng.range(10, 3000));
  const { parent, key } = rng.pick(nodes);
  const r = rng.int(6);
  if (Array.isArray(parent)) {
    const i = key as number;
    if (r === 0) parent.splice(i, 1);
    else if (r === 1) parent.push(...Array.from({ length: rng.range(1, 200) }, () => parent[i] ?? null));
    else parent[i] = randomJson(rng);
  } else {
    const k = key as string;
    if (r === 0) delete parent[k];
    else if (r === 1) put(parent, rng.pick(['unknown', 'extra', '__proto__', rng.text(8)]), randomJson(rng));
    else if (r === 2) put(parent, k, deep(rng.range(2, 200)));
    else put(parent, k, randomJson(rng));
  }
  return doc;
}

/** `n` nested arrays around a number. */
function deep(n: number): Json {
  let x: Json = 1;
  for (let i = 0; i < n; i++) x = [x];
  return x;
}
