/**
 * The policy contract shared by the pure model (this folder), the kernel edge (`src/host`,
 * which enforces a {@link PolicyRuleset}) and the daemon (which feeds the model and hands the
 * compiled ruleset to the edge). Pure data: no I/O, no classes.
 *
 * Addresses are printed IPv4 or IPv6 strings as `src/net` prints them; CIDRs are
 * `ADDR/PREFIX`. Nothing here assumes IPv4: the kernel edge splits by family.
 */

/** Transport protocols of NetworkPolicy ports. */
export type PolicyProtocol = 'TCP' | 'UDP' | 'SCTP';

/** Which side of a local pod a rule guards. */
export type PolicyDirection = 'ingress' | 'egress';

/** A named port of a pod (from its container spec, `weft attach --port`, or CNI). */
export interface PodPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: PolicyProtocol;
}

/** One pod as the model sees it: identity, labels and addresses. */
export interface PodIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Every address of the pod (IPv4 and/or IPv6). */
  readonly ips: readonly string[];
  readonly ports: readonly PodPort[];
  /** The weft peer (host) the pod runs on. */
  readonly host: string;
}

/** A namespace and its labels (`kubernetes.io/metadata.name` is always present after normalisation). */
export interface NamespaceIdentity {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A port match of a compiled rule: a protocol with all ports (`port` absent), one port, or the
 * inclusive range `port..endPort`.
 */
export interface CompiledPort {
  readonly protocol: PolicyProtocol;
  readonly port?: number;
  readonly endPort?: number;
}

/**
 * One compiled allow rule of one policy in one direction. For ingress, `targets` are the local
 * pods' addresses (destinations) and `peers` the allowed sources; for egress, `targets` are the
 * local pods' addresses (sources) and `peers` the allowed destinations.
 *
 * A packet matches when its local address is in `targets`, its remote address is in `peers`
 * (or `peers` is `'any'`), and its (protocol, destination port) matches `ports` (or `ports` is
 * `'any'`) or is one of `destPorts` (named ports resolved per destination pod:
 * `(destination address, protocol, port)` triples).
 */
export interface CompiledRule {
  /** Stable id, `NS/NAME/ingress/INDEX` (INDEX of the rule in the policy's list). */
  readonly id: string;
  /** `NS/NAME` of the policy. */
  readonly policy: string;
  readonly direction: PolicyDirection;
  /** True when the policy is in audit mode (annotation `weft.io/policy-mode: audit`). */
  readonly audit: boolean;
  readonly targets: readonly string[];
  /** Disjoint CIDRs (ipBlock `except` already subtracted; pods as /32 or /128), or any peer. */
  readonly peers: readonly string[] | 'any';
  /**
   * Identity of the rule's peer list (policy namespace + peers as written): rules with equal
   * keys have equal `peers` in one ruleset, so the kernel edge keeps ONE set per key (a pod
   * label change then touches each affected set once). Absent: no sharing.
   */
  readonly peerKey?: string;
  /** Identity of an egress rule's named-port destinations (peer key + named ports): equal keys, equal `destPorts`. */
  readonly destKey?: string;
  /** Numeric port matches, or any port of any protocol. */
  readonly ports: readonly CompiledPort[] | 'any';
  /** Named ports resolved per destination pod. Empty when the rule names no port by name. */
  readonly destPorts: readonly { readonly ip: string; readonly protocol: PolicyProtocol; readonly port: number }[];
}

/** The isolation one policy imposes on local pods in one direction. */
export interface CompiledIsolation {
  /** `NS/NAME` of the policy. */
  readonly policy: string;
  readonly direction: PolicyDirection;
  readonly audit: boolean;
  /** Addresses of the local pods it selects (and so isolates in `direction`). */
  readonly targets: readonly string[];
}

/**
 * Everything one host's kernel needs to enforce policy for its local pods. Built by
 * `compileRuleset` from the whole model (every pod in the cluster is a possible peer) and the
 * set of local pods. Deterministic: the same inputs give a deep-equal ruleset (sorted arrays),
 * so the kernel edge can diff two rulesets and change only what differs.
 *
 * Semantics: a packet between a local pod and a remote address passes direction D when the
 * local pod is in no enforcing isolation of D, or some enforcing rule of D matches it. Audit
 * isolations and rules are evaluated the same way as if enforced; a packet that would be
 * refused by (enforcing + audit) but passes the enforcing ones is counted and logged as
 * "would drop" and passes. Replies of allowed connections, traffic between a host and its own
 * pods, and ARP/ND always pass.
 */
export interface PolicyRuleset {
  /** Addresses of every local pod the ruleset speaks for. */
  readonly localPods: readonly string[];
  readonly isolations: readonly CompiledIsolation[];
  readonly rules: readonly CompiledRule[];
}
