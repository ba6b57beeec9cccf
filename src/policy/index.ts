/**
 * Network policy: the Kubernetes NetworkPolicy v1 model, its validation, the reference
 * semantics, compilation to a per-host {@link PolicyRuleset} and `explain`. Pure: no I/O.
 */
export type {
  PolicyProtocol, PolicyDirection, PodPort, PodIdentity, NamespaceIdentity,
  CompiledPort, CompiledRule, CompiledIsolation, PolicyRuleset,
} from './ruleset.js';
