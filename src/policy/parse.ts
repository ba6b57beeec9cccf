/**
 * Reading policy documents: `parsePolicyDocuments` (the text of one `weft policy apply`: YAML,
 * many documents, or JSON: one object, an array, or a `kind: List`), `fromKubeObject` (one
 * object from the Kubernetes API) and `parsePolicyRef` (`NS/NAME`). Atomic: the first problem
 * throws one WeftError('WEFT_ERR_POLICY_INVALID') naming the source, the document, the object
 * and the field; nothing is returned from a text with any error. Pure.
 */
import { Lexer, parseAllDocuments } from 'yaml';
import { WeftError } from '../common/index.js';
import { dns1123LabelProblem, dns1123SubdomainProblem } from './labels.js';
import { policyKey, type NetworkPolicyObject, type PolicyDocuments } from './objects.js';
import type { NamespaceIdentity } from './ruleset.js';
import { DEFAULT_NAMESPACE, validateNamespace, validateNetworkPolicy, type ObjectLocator } from './validate.js';

const KINDS: Readonly<Record<string, string>> = { NetworkPolicy: 'networking.k8s.io/v1', Namespace: 'v1' };
/** Aliases in one document above this are refused (a "billion laughs" document). */
const MAX_YAML_ALIASES = 100;
/** Open `[` / `{` at once above this are refused (the YAML composer recurses per level). */
const MAX_YAML_FLOW_DEPTH = 256;
/** Lines indented deeper than this are refused (block nesting: one level per indentation step). columns */
const MAX_YAML_INDENT = 512;

/**
 * Refuses texts nested deeper than the YAML library handles in bounded time and stack: flow
 * brackets are counted wherever they are (quoted or not: over-counting only refuses texts no
 * policy needs), block nesting by indentation. O(length).
 */
function checkNesting(text: string, source: string): void {
  let depth = 0;
  let line = 1;
  let indent = 0;
  let atLineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) { line++; indent = 0; atLineStart = true; continue; }
    if (atLineStart) {
      if (c === 32) {
        if (++indent > MAX_YAML_INDENT) invalid(`${source}: line ${line} is indented more than ${MAX_YAML_INDENT} columns (nesting too deep)`);
        continue;
      }
      atLineStart = false;
    }
    if (c === 91 || c === 123) {
      if (++depth > MAX_YAML_FLOW_DEPTH) invalid(`${source}: line ${line}: more than ${MAX_YAML_FLOW_DEPTH} nested [ or { (nesting too deep)`);
    } else if ((c === 93 || c === 125) && depth > 0) {
      depth--;
    }
  }
}

function invalid(message: string): never {
  throw new WeftError('WEFT_ERR_POLICY_INVALID', message);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One object of the apply with its place: `document N` or `document N items[J]`. */
interface Located { readonly place: string; readonly value: unknown }

/** The objects of a text: YAML documents, JSON arrays and `kind: List` items flattened in order. */
function splitDocuments(text: string, source: string): Located[] {
  checkNesting(text, source);
  checkAliases(text, source);
  // logLevel 'error': the library's warnings (e.g. a collection as a key) would go to the daemon's stderr
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  const out: Located[] = [];
  docs.forEach((doc, i) => {
    const err = doc.errors[0];
    if (err !== undefined) {
      const pos = err.linePos?.[0];
      const at = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
      invalid(`${source}: document ${i + 1}: invalid YAML/JSON${at}: ${(err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    } catch (e) {
      invalid(`${source}: document ${i + 1}: invalid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    if (value === null || value === undefined) return; // an empty document (e.g. a trailing '---')
    const place = `document ${i + 1}`;
    if (Array.isArray(value)) {
      value.forEach((item, j) => out.push({ place: `${place} [${j}]`, value: item }));
    } else if (isRecord(value) && value.kind === 'List') {
      if (value.items !== undefined && !Array.isArray(value.items)) invalid(`${source}: ${place} (List): items: must be a list`);
      const items = (value.items ?? []) as unknown[];
      items.forEach((item, j) => out.push({ place: `${place} items[${j}]`, value: item }));
    } else {
      out.push({ place, value });
    }
  });
  return out;
}

/**
 * Refuses a document with more than MAX_YAML_ALIASES aliases before it is parsed: toJS's
 * maxAliasCount bounds what aliases expand to, not how many there are, and composing each alias
 * searches the document for its anchor (quadratic: 10,000 aliases of `{}` took seconds). Counted
 * on the lexer's tokens (linear; an alias token starts with `*`, a document with `---` or U+0002).
 */
function checkAliases(text: string, source: string): void {
  let aliases = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '---' || token === '\u0002') aliases = 0; // a document starts
    else if (token.charCodeAt(0) === 42 && ++aliases > MAX_YAML_ALIASES) invalid(`${source}: a document has more than ${MAX_YAML_ALIASES} YAML aliases`);
  }
}

function locator(prefix: string): ObjectLocator {
  return (kind, name) => `${prefix} (${kind}${name === undefined ? '' : ` ${name}`})`;
}

/** Checks apiVersion/kind and validates one object; `kinds` limits what is accepted. */
function validateDocument(value: unknown, prefix: string): NetworkPolicyObject | NamespaceIdentity {
  if (!isRecord(value)) invalid(`${prefix}: must be an object with apiVersion and kind`);
  const kind = value.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(KINDS, kind)) {
    invalid(`${prefix}: kind: ${kind === undefined ? 'required' : JSON.stringify(kind) + ' is not supported'} (supported: NetworkPolicy, Namespace)`);
  }
  const want = KINDS[kind];
  if (value.apiVersion !== want) {
    invalid(`${prefix} (${kind}): apiVersion: ${value.apiVersion === undefined ? 'required' : JSON.stringify(value.apiVersion) + ' is not supported'} (${kind} is ${want})`);
  }
  return kind === 'NetworkPolicy' ? validateNetworkPolicy(value, locator(prefix)) : validateNamespace(value, locator(prefix));
}

function isPolicy(o: NetworkPolicyObject | NamespaceIdentity): o is NetworkPolicyObject {
  return 'podSelector' in o;
}

/**
 * Parses and validates the text of one apply. `source` names it in errors (a file name, or
 * `stdin`). Namespaces without `metadata.namespace` policies default to `default`. The same
 * object twice in one text is an error. Returns policies and namespaces in document order.
 */
export function parsePolicyDocuments(text: string, source: string): PolicyDocuments {
  if (typeof text !== 'string') invalid(`${source}: not text`);
  const located = splitDocuments(text, source);
  if (located.length === 0) invalid(`${source}: no NetworkPolicy or Namespace documents`);
  const policies: NetworkPolicyObject[] = [];
  const namespaces: NamespaceIdentity[] = [];
  const seen = new Map<string, string>();
  for (const { place, value } of located) {
    const prefix = `${source}: ${place}`;
    const o = validateDocument(value, prefix);
    const id = isPolicy(o) ? `NetworkPolicy ${policyKey(o)}` : `Namespace ${o.name}`;
    const first = seen.get(id);
    if (first !== undefined) invalid(`${prefix} (${id}): duplicate of ${first} in the same apply`);
    seen.set(id, place);
    if (isPolicy(o)) policies.push(o); else namespaces.push(o);
  }
  return { policies, namespaces };
}

/**
 * Validates one object read from the Kubernetes API (`kind` says which list it came from;
 * apiVersion/kind fields on the object itself are not required). Same rules and errors as
 * {@link parsePolicyDocuments}, prefixed `Kubernetes`.
 */
export function fromKubeObject(kind: 'NetworkPolicy', obj: unknown): NetworkPolicyObject;
export function fromKubeObject(kind: 'Namespace', obj: unknown): NamespaceIdentity;
export function fromKubeObject(kind: 'NetworkPolicy' | 'Namespace', obj: unknown): NetworkPolicyObject | NamespaceIdentity;
export function fromKubeObject(kind: 'NetworkPolicy' | 'Namespace', obj: unknown): NetworkPolicyObject | NamespaceIdentity {
  const where: ObjectLocator = (k, name) => `Kubernetes ${k}${name === undefined ? '' : ` ${name}`}`;
  if (!isRecord(obj)) invalid(`Kubernetes ${kind}: must be an object`);
  if (obj.kind !== undefined && obj.kind !== kind) invalid(`Kubernetes ${kind}: kind: ${JSON.stringify(obj.kind)} is not ${kind}`);
  // The client library may hand objects with its own field names; only the JSON shape is read.
  return kind === 'NetworkPolicy' ? validateNetworkPolicy(obj, where) : validateNamespace(obj, where);
}

/** `NS/NAME`, or `NAME` (namespace `default`), of a NetworkPolicy; WeftError('WEFT_ERR_BAD_ARGS') when malformed. */
export function parsePolicyRef(text: string): { namespace: string; name: string } {
  const bad = (why: string): never => {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `policy reference ${JSON.stringify(text)}: ${why} (expected NAMESPACE/NAME or NAME)`);
  };
  if (typeof text !== 'string' || text.length === 0) bad('empty');
  const parts = text.split('/');
  if (parts.length > 2) bad("more than one '/'");
  const [namespace, name] = parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : [DEFAULT_NAMESPACE, parts[0] ?? ''];
  const nsp = dns1123LabelProblem(namespace);
  if (nsp !== null) bad(`namespace ${nsp}`);
  const np = dns1123SubdomainProblem(name);
  if (np !== null) bad(`name ${np}`);
  return { namespace, name };
}
