/**
 * Policy decoders: the text of `weft policy apply` (parsePolicyDocuments: YAML or JSON),
 * Kubernetes API objects (fromKubeObject), and mesh mode's two gossip channels of
 * src/directory (the policy store's entries and the workload directory's records, each in its
 * length-checked envelope, then merged into a fresh store / directory).
 *
 * Cross-checks beyond "only contract errors": every object the apply or Kubernetes path
 * accepts must pass the gossip validator (object-check.ts) unchanged — it is what the policy
 * store sends to peers — and every accepted gossip message re-encodes to itself (valid) or to a
 * message that decodes to the same entries.
 */
import assert from 'node:assert/strict';
import { POLICY_MAX_TEXT_BYTES } from '../../src/common/index.js';
import { fromKubeObject, parsePolicyDocuments, policyKey, type NamespaceIdentity, type NetworkPolicyObject } from '../../src/policy/index.js';
import {
  PolicyStore, WorkloadDirectory, checkNamespace, checkPolicyObject, decodePolicyEntries, decodeWorkloads, encodeEnvelope,
  encodePolicyEntries, encodeWorkloads, type AnnouncedPod, type PolicyStoreEntry, type WorkloadRecord,
} from '../../src/directory/index.js';
import type { FuzzTarget } from '../engine.js';
import type { Rng } from '../rng.js';
import { peerName, same, sameBytes } from './common.js';
import { mutateJson } from './json.js';
import { applyText, kubeNamespace, kubeObjects, kubePolicy, yamlNasty } from './policy-gen.js';

/** The gossip validator takes what the apply path produced, as it is after a JSON round trip. */
function crossCheck(policies: readonly NetworkPolicyObject[], namespaces: readonly NamespaceIdentity[]): void {
  for (const p of policies) same(checkPolicyObject(JSON.parse(JSON.stringify(p)), 'cross-check'), p, `policy ${policyKey(p)} after the gossip validator`);
  for (const n of namespaces) same(checkNamespace(JSON.parse(JSON.stringify(n)), 'cross-check'), n, `namespace ${n.name} after the gossip validator`);
}

// ───────────── the text of an apply ─────────────

const policyDocuments: FuzzTarget = {
  name: 'policy-documents',
  decoder: 'src/policy/parse.ts parsePolicyDocuments (YAML/JSON text of weft policy apply)',
  codes: ['WEFT_ERR_POLICY_INVALID'],
  valid: (rng) => Buffer.from(applyText(rng, kubeObjects(rng)), 'utf8'),
  structured(rng) {
    const objs = kubeObjects(rng);
    if (rng.chance(0.5)) {
      const k = rng.int(objs.length);
      return Buffer.from(applyText(rng, objs.map((o, i) => (i === k ? mutateJson(rng, o) : o))), 'utf8');
    }
    return Buffer.from(yamlNasty(rng, applyText(rng, objs)), 'utf8');
  },
  maxRandomBytes: 300,
  run(input, isValid) {
    // the API caps the text (routes.ts PolicyText); longer texts never reach the parser
    if (input.length > POLICY_MAX_TEXT_BYTES) return 'ignored';
    const { policies, namespaces } = parsePolicyDocuments(input.toString('utf8'), 'fuzz');
    if (isValid) assert.ok(policies.length + namespaces.length > 0, 'a valid text gave no objects');
    crossCheck(policies, namespaces);
  },
};

// ───────────── objects from the Kubernetes API ─────────────

/** Input = a kind byte (even: NetworkPolicy, odd: Namespace) + the object's JSON. */
const kubeInput = (kind: number, obj: unknown): Buffer => Buffer.concat([Buffer.from([kind]), Buffer.from(JSON.stringify(obj) ?? 'null', 'utf8')]);

const kubeObject: FuzzTarget = {
  name: 'kube-object',
  decoder: 'src/policy/parse.ts fromKubeObject (NetworkPolicy and Namespace objects of a list or watch)',
  codes: ['WEFT_ERR_POLICY_INVALID'],
  valid(rng) {
    const ns = rng.chance(0.3);
    const o = ns ? kubeNamespace(rng) : kubePolicy(rng);
    // the API's objects need not carry apiVersion/kind
    if (rng.chance(0.4)) { delete o.apiVersion; delete o.kind; }
    return kubeInput(ns ? 1 : 0, o);
  },
  structured(rng) {
    const ns = rng.chance(0.3);
    return kubeInput(ns ? 1 : 0, mutateJson(rng, ns ? kubeNamespace(rng) : kubePolicy(rng)));
  },
  randomShare: 0.03,
  run(input) {
    let obj: unknown;
    try {
      obj = JSON.parse(input.subarray(1).toString('utf8'));
    } catch {
      return 'ignored'; // the client library hands objects, never text: not JSON is not this decoder's input
    }
    if ((input[0] ?? 0) % 2 === 0) crossCheck([fromKubeObject('NetworkPolicy', obj)], []);
    else crossCheck([], [fromKubeObject('Namespace', obj)]);
  },
};

// ───────────── the policy store's gossip ─────────────

const ORIGINS = ['02:00:00:00:00:01', '02:00:00:00:00:02', 'ce:aa:00:11:22:33'];

function storeEntries(rng: Rng): PolicyStoreEntry[] {
  const out: PolicyStoreEntry[] = [];
  const seen = new Set<string>();
  for (const o of kubeObjects(rng)) {
    const stamp = { ms: rng.pick([0, 1, 1_700_000_000_000 + rng.int(1e9), 2 ** 53 - 1, 0.5]), origin: rng.pick(ORIGINS) };
    const e: PolicyStoreEntry = o.kind === 'Namespace'
      ? { kind: 'namespace', key: '', stamp, object: fromKubeObject('Namespace', o) }
      : { kind: 'policy', key: '', stamp, object: fromKubeObject('NetworkPolicy', o) };
    const key = e.kind === 'policy' ? policyKey(e.object!) : e.object!.name;
    if (seen.has(`${e.kind}:${key}`)) continue;
    seen.add(`${e.kind}:${key}`);
    out.push({ ...e, key, object: rng.chance(0.2) ? null : e.object } as PolicyStoreEntry);
  }
  return out;
}

const toWire = (e: PolicyStoreEntry): unknown => ({ kind: e.kind, key: e.key, ms: e.stamp.ms, origin: e.stamp.origin, object: e.object });

const policyStore: FuzzTarget = {
  name: 'policy-store',
  decoder: 'src/directory/policy-store.ts decodePolicyEntries (envelope.ts decodeEnvelope) + PolicyStore.onGossip',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => encodePolicyEntries(storeEntries(rng)),
  structured(rng) {
    const doc = mutateJson(rng, { entries: storeEntries(rng).map(toWire) });
    const b = encodeEnvelope('policy', doc);
    if (rng.chance(0.1)) b[rng.int(6)] = rng.int(256); // a header byte: version, kind or length
    return b;
  },
  run(input, isValid) {
    const entries = decodePolicyEntries(input);
    const again = encodePolicyEntries(entries);
    if (isValid) sameBytes(again, input, 'policy entries');
    same(decodePolicyEntries(again), entries, 'policy entries decode(encode(e))');
    const store = new PolicyStore();
    store.onGossip(input);
    // keys appear once in a store: the last entry of a key that wins is kept
    assert.ok(store.list().length <= entries.length, 'the store holds more entries than it was sent');
  },
};

// ───────────── the workload directory's gossip ─────────────

const POD_IPS = ['10.32.0.1', '10.32.0.2', 'fd00::1', '::ffff:10.0.0.1', '192.168.1.200', '2001:db8::5'];

function announcedPod(rng: Rng, i: number): AnnouncedPod {
  return {
    namespace: rng.pick(['default', 'x', 'shop']), name: `${rng.pick(['web', 'db', 'a_b.c'])}-${i}`,
    labels: Object.fromEntries(Array.from({ length: rng.int(4) }, () => [rng.pick(['app', 'role', 'example.com/tier']), rng.pick(['web', 'db', ''])])),
    ips: Array.from({ length: rng.range(1, 3) }, () => rng.pick(POD_IPS)),
    ports: ['http', 'dns', 'metrics'].slice(0, rng.int(4)).map((name) => ({ name, port: rng.range(1, 65535), protocol: rng.pick(['TCP', 'UDP', 'SCTP'] as const) })),
  };
}

function workloadRecords(rng: Rng): Map<string, WorkloadRecord> {
  const out = new Map<string, WorkloadRecord>();
  for (let i = rng.int(4); i > 0; i--) {
    out.set(peerName(rng), { version: rng.pick([0, 1, 1_700_000_000_000 + rng.int(1e9), 0.25]), pods: Array.from({ length: rng.int(5) }, (_, k) => announcedPod(rng, k)) });
  }
  return out;
}

const SELF = '02:00:00:00:00:01';

const workloadDirectory: FuzzTarget = {
  name: 'workload-directory',
  decoder: 'src/directory/workload-directory.ts decodeWorkloads (envelope.ts decodeEnvelope) + WorkloadDirectory.onGossip',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => encodeWorkloads(workloadRecords(rng)),
  structured(rng) {
    const doc = mutateJson(rng, { records: [...workloadRecords(rng)].map(([peer, r]) => ({ peer, version: r.version, pods: r.pods })) });
    const b = encodeEnvelope('workloads', doc);
    if (rng.chance(0.1)) b[rng.int(6)] = rng.int(256);
    return b;
  },
  run(input, isValid) {
    const records = decodeWorkloads(input);
    const again = encodeWorkloads(records);
    // addresses are printed canonically on decode, so only a canonical input is byte-identical
    if (isValid && !/::ffff:/.test(input.toString('latin1'))) sameBytes(again, input, 'workload records');
    same(decodeWorkloads(again), records, 'workload records decode(encode(r))');
    const dir = new WorkloadDirectory(SELF, () => undefined);
    dir.onGossip(input);
    assert.ok(!dir.hosts().includes(SELF), 'a record about ourselves was taken from gossip');
  },
};

export const POLICY_TARGETS: readonly FuzzTarget[] = [policyDocuments, kubeObject, policyStore, workloadDirectory];
