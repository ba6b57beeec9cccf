/**
 * Turns the model's policy objects (as {@link scaleWorld} builds them) back into the Kubernetes
 * documents `weft policy apply` reads: `networking.k8s.io/v1` NetworkPolicy and `v1` Namespace
 * objects, packed into JSON `kind: List` texts that each stay under the API's text limit
 * (POLICY_MAX_TEXT_BYTES), so a world of 1,000 policies is applied in a few calls. Pure.
 */
import { POLICY_MAX_TEXT_BYTES } from '../src/common/index.js';
import { POLICY_MODE_ANNOTATION } from '../src/policy/index.js';
import type {
  IpBlock,
  LabelSelector,
  NamespaceIdentity,
  NetworkPolicyObject,
  PolicyPeer,
  PolicyPortSpec,
  PolicyRule,
} from '../src/policy/index.js';

type Json = Record<string, unknown>;

function selector(s: LabelSelector): Json {
  const out: Json = {};
  if (Object.keys(s.matchLabels).length > 0) out['matchLabels'] = { ...s.matchLabels };
  if (s.matchExpressions.length > 0) {
    out['matchExpressions'] = s.matchExpressions.map((e) => ({
      key: e.key, operator: e.operator, ...(e.values.length > 0 ? { values: [...e.values] } : {}),
    }));
  }
  return out;
}

function ipBlock(b: IpBlock): Json {
  return { cidr: b.cidr, ...(b.except.length > 0 ? { except: [...b.except] } : {}) };
}

function peer(p: PolicyPeer): Json {
  return {
    ...(p.podSelector ? { podSelector: selector(p.podSelector) } : {}),
    ...(p.namespaceSelector ? { namespaceSelector: selector(p.namespaceSelector) } : {}),
    ...(p.ipBlock ? { ipBlock: ipBlock(p.ipBlock) } : {}),
  };
}

function port(p: PolicyPortSpec): Json {
  return {
    protocol: p.protocol,
    ...(p.port !== undefined ? { port: p.port } : {}),
    ...(p.endPort !== undefined ? { endPort: p.endPort } : {}),
  };
}

function rule(r: PolicyRule, peersKey: 'from' | 'to'): Json {
  return {
    ...(r.peers && r.peers.length > 0 ? { [peersKey]: r.peers.map(peer) } : {}),
    ...(r.ports && r.ports.length > 0 ? { ports: r.ports.map(port) } : {}),
  };
}

/** The Kubernetes object of a policy (policyTypes given explicitly, audit as the annotation). */
export function networkPolicyDocument(p: NetworkPolicyObject): Json {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: p.name, namespace: p.namespace,
      ...(p.audit ? { annotations: { [POLICY_MODE_ANNOTATION]: 'audit' } } : {}),
    },
    spec: {
      podSelector: selector(p.podSelector),
      policyTypes: [...p.policyTypes],
      ...(p.ingress.length > 0 ? { ingress: p.ingress.map((r) => rule(r, 'from')) } : {}),
      ...(p.egress.length > 0 ? { egress: p.egress.map((r) => rule(r, 'to')) } : {}),
    },
  };
}

/** The Kubernetes object of a namespace with its labels. */
export function namespaceDocument(n: NamespaceIdentity): Json {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n.name, labels: { ...n.labels } } };
}

/**
 * JSON `kind: List` texts for `weft policy apply`, namespaces first, each at most `maxBytes`
 * (default: 90 % of POLICY_MAX_TEXT_BYTES). Applying them in order applies everything.
 */
export function policyApplyTexts(
  world: { policies: readonly NetworkPolicyObject[]; namespaces: readonly NamespaceIdentity[] },
  maxBytes = Math.floor(POLICY_MAX_TEXT_BYTES * 0.9),
): string[] {
  const items = [...world.namespaces.map(namespaceDocument), ...world.policies.map(networkPolicyDocument)].map((d) => JSON.stringify(d));
  const texts: string[] = [];
  const head = '{"apiVersion":"v1","kind":"List","items":[';
  let batch: string[] = [];
  let size = head.length + 2;
  for (const item of items) {
    if (batch.length > 0 && size + item.length + 1 > maxBytes) {
      texts.push(`${head}${batch.join(',')}]}`);
      batch = [];
      size = head.length + 2;
    }
    batch.push(item);
    size += item.length + 1;
  }
  if (batch.length > 0) texts.push(`${head}${batch.join(',')}]}`);
  return texts;
}
