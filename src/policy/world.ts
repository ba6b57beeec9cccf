/**
 * The cluster as the model reads it: namespaces (implicit ones included) and pods, indexed by
 * namespace and by address. Built once per {@link PolicyInput}; both the reference model and the
 * compiler read namespaces through it so that "a namespace without a Namespace object exists,
 * labelled only kubernetes.io/metadata.name" is defined in one place. Pure.
 */
import { NAMESPACE_NAME_LABEL } from './labels.js';
import type { PolicyInput } from './objects.js';
import type { PodIdentity } from './ruleset.js';

/** Read-only indexes over one PolicyInput. */
export interface PolicyWorld {
  readonly input: PolicyInput;
  /** Labels of a namespace; a namespace without a Namespace object has only kubernetes.io/metadata.name. */
  namespaceLabels(name: string): Readonly<Record<string, string>>;
  /** Every namespace that has a Namespace object, a pod or a policy, sorted. */
  readonly namespaceNames: readonly string[];
  /** Pods of a namespace, in input order. */
  podsIn(namespace: string): readonly PodIdentity[];
  /** The pod with this address (the first in input order), if any. */
  podByIp(ip: string): PodIdentity | undefined;
}

/** Builds the indexes of `input`. O(pods + namespaces + policies). */
export function indexPolicyInput(input: PolicyInput): PolicyWorld {
  const nsLabels = new Map<string, Readonly<Record<string, string>>>();
  for (const ns of input.namespaces) {
    nsLabels.set(ns.name, ns.labels[NAMESPACE_NAME_LABEL] === ns.name ? ns.labels : { ...ns.labels, [NAMESPACE_NAME_LABEL]: ns.name });
  }
  const byNs = new Map<string, PodIdentity[]>();
  const byIp = new Map<string, PodIdentity>();
  for (const pod of input.pods) {
    let list = byNs.get(pod.namespace);
    if (list === undefined) byNs.set(pod.namespace, (list = []));
    list.push(pod);
    for (const ip of pod.ips) if (!byIp.has(ip)) byIp.set(ip, pod);
  }
  const names = new Set<string>([...nsLabels.keys(), ...byNs.keys(), ...input.policies.map((p) => p.namespace)]);
  const implicit = new Map<string, Readonly<Record<string, string>>>();
  return {
    input,
    namespaceNames: [...names].sort(),
    namespaceLabels(name) {
      const l = nsLabels.get(name) ?? implicit.get(name);
      if (l !== undefined) return l;
      const made = { [NAMESPACE_NAME_LABEL]: name };
      implicit.set(name, made);
      return made;
    },
    podsIn: (namespace) => byNs.get(namespace) ?? [],
    podByIp: (ip) => byIp.get(ip),
  };
}

/** `NS/NAME` of a pod. */
export function podKey(p: { readonly namespace: string; readonly name: string }): string {
  return `${p.namespace}/${p.name}`;
}
