/**
 * Network policy (issue 12). So far this folder holds only its contract: the per-host
 * {@link PolicyRuleset} the model will compile and the kernel edge will enforce, and the pod and
 * namespace identities it is compiled from. The model (validation, reference semantics,
 * compilation, `explain`) is not built yet. Pure: no I/O.
 */
export type {
  PolicyProtocol, PolicyDirection, PodPort, PodIdentity, NamespaceIdentity,
  CompiledPort, CompiledRule, CompiledIsolation, PolicyRuleset,
} from './ruleset.js';
