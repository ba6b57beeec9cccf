/**
 * The validated policy objects: what `parsePolicyDocuments` (YAML/JSON from `weft policy
 * apply`) and `fromKubeObject` (Kubernetes mode) produce, what the mesh's policy store gossips
 * and persists, and what `compileRuleset` / `explainVerdict` read. Normalised: defaults are
 * filled in exactly as Kubernetes defines them, so two equal policies are deep-equal.
 * Pure data: no I/O, no classes.
 */
import type { NamespaceIdentity, PodIdentity, PolicyProtocol } from './ruleset.js';

/** One `matchExpressions` entry. `values` is empty for Exists / DoesNotExist. */
export interface LabelExpression {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

/** A Kubernetes label selector; both parts empty selects everything. */
export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelExpression[];
}

/** `ipBlock`: a CIDR minus the `except` CIDRs (each inside `cidr`). */
export interface IpBlock {
  readonly cidr: string;
  readonly except: readonly string[];
}

/**
 * One entry of `from` / `to`. Exactly one of the shapes Kubernetes allows: `ipBlock` alone, or
 * `podSelector` and/or `namespaceSelector` (both present = AND). An absent podSelector with a
 * namespaceSelector means every pod of the selected namespaces; an absent namespaceSelector with
 * a podSelector means the policy's own namespace.
 */
export interface PolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IpBlock;
}

/** One entry of `ports`: a number or a named port (resolved per destination pod), with an optional range end. */
export interface PolicyPortSpec {
  readonly protocol: PolicyProtocol;
  /** Absent: every port of `protocol`. */
  readonly port?: number | string;
  /** Only with a numeric `port`; inclusive, at least `port`. */
  readonly endPort?: number;
}

/**
 * One ingress or egress rule. `peers` absent (Kubernetes: `from`/`to` absent or empty) means
 * every peer; `ports` absent (absent or empty list) means every port. A rule that is present
 * but has an empty `peers` list after normalisation does not exist: Kubernetes treats an empty
 * `from: []` the same as an absent one.
 */
export interface PolicyRule {
  readonly peers?: readonly PolicyPeer[];
  readonly ports?: readonly PolicyPortSpec[];
}

/** A validated, normalised `networking.k8s.io/v1` NetworkPolicy. */
export interface NetworkPolicyObject {
  readonly namespace: string;
  readonly name: string;
  /** True when annotated `weft.io/policy-mode: audit`. */
  readonly audit: boolean;
  readonly podSelector: LabelSelector;
  /** Defaulted as Kubernetes does: Ingress always, Egress when `egress` rules exist. Sorted. */
  readonly policyTypes: readonly ('Ingress' | 'Egress')[];
  readonly ingress: readonly PolicyRule[];
  readonly egress: readonly PolicyRule[];
}

/** What one apply (one file or stdin, one or many documents) contains. */
export interface PolicyDocuments {
  readonly policies: readonly NetworkPolicyObject[];
  readonly namespaces: readonly NamespaceIdentity[];
}

/** `NS/NAME` of a policy: the key of the policy store and of rule ids. */
export function policyKey(p: { readonly namespace: string; readonly name: string }): string {
  return `${p.namespace}/${p.name}`;
}

/**
 * Everything the model reads: the cluster's policies, namespaces and pods (every pod of the
 * cluster, local or not, is a possible peer). A namespace that has pods or policies but no
 * Namespace object exists implicitly, labelled only `kubernetes.io/metadata.name`.
 */
export interface PolicyInput {
  readonly policies: readonly NetworkPolicyObject[];
  readonly namespaces: readonly NamespaceIdentity[];
  readonly pods: readonly PodIdentity[];
}

/**
 * Where the daemon's policy service reads its {@link PolicyInput} from: mesh mode's gossiped
 * store and workload directory (src/daemon) or Kubernetes mode's informers (src/kube).
 * Lifecycle: `onChange` before `start()`; `start()` begins delivering; `stop()` ends it
 * (idempotent). `snapshot()` is cheap and synchronous; a source that has not read its whole
 * world yet (Kubernetes mode before its first complete list) throws WEFT_ERR_KUBE from it, and
 * the consumer keeps the previous ruleset in force. `onChange` callbacks fire (any number of
 * times; the consumer debounces) after every change of what `snapshot()` returns.
 */
export interface PolicyInputSource {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  snapshot(): PolicyInput;
  onChange(cb: () => void): void;
}
