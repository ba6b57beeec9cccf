/**
 * The API server's JSON form of an object the generated client has deserialised. A list call of
 * `@kubernetes/client-node` returns model instances (`Date` timestamps, absent fields present as
 * `undefined`, and a few renamed properties such as `V1NetworkPolicyIngressRule._from` for the
 * wire's `from`), while its watch events carry the server's JSON unchanged. Kubernetes mode keeps
 * one form, the wire's, so `fromKubeObject` validates the same document `kubectl get -o json`
 * shows. Driven by the library's own attribute maps (each model's `getAttributeTypeMap()`), so
 * it follows the library's models rather than a copy of them. Pure.
 */
import * as k8s from '@kubernetes/client-node';

interface Attribute { readonly name: string; readonly baseName: string; readonly type: string }
interface ModelClass { getAttributeTypeMap(): readonly Attribute[] }

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;
const OPTIONAL = / \| (null|undefined)$/;

function modelClass(type: string): ModelClass | undefined {
  const c = (k8s as unknown as Record<string, unknown>)[type];
  return typeof c === 'function' && typeof (c as Partial<ModelClass>).getAttributeTypeMap === 'function' ? c as unknown as ModelClass : undefined;
}

/**
 * `value` (of the library's model type `type`, e.g. `'V1NetworkPolicy'`) as the API server
 * sends it: wire property names, RFC 3339 timestamps, no `undefined` members. Values that are
 * already plain JSON pass through unchanged, so applying it twice is harmless.
 */
export function toApiJson(value: unknown, type: string): unknown {
  if (value === undefined || value === null) return value;
  const t = type.replace(OPTIONAL, '');
  if (value instanceof Date) return value.toISOString();
  const arr = ARRAY.exec(t);
  if (arr) return Array.isArray(value) ? value.map((v) => toApiJson(v, arr[1] ?? 'any')) : value;
  const map = MAP.exec(t);
  if (map && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toApiJson(v, map[1] ?? 'any')]));
  }
  const model = modelClass(t);
  if (!model || typeof value !== 'object' || Array.isArray(value)) return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const known = new Set<string>();
  for (const a of model.getAttributeTypeMap()) {
    known.add(a.name);
    // A plain-JSON input has the wire name; a model instance the library's.
    const v = src[a.name] !== undefined ? src[a.name] : src[a.baseName];
    known.add(a.baseName);
    if (v !== undefined) out[a.baseName] = toApiJson(v, a.type);
  }
  // Fields newer than the library's models are kept as they came.
  for (const [k, v] of Object.entries(src)) if (!known.has(k) && v !== undefined) out[k] = v;
  return out;
}
