/**
 * Network policy (issue 12): the contract first. {@link PolicyRuleset} (ruleset.ts) is what the
 * model compiles per host and the kernel edge enforces; the policy objects (objects.ts) are what
 * `weft policy apply`, Kubernetes mode and the mesh's policy store carry. The model (validation,
 * reference semantics, compilation, `explain`) lands here next. Pure: no I/O.
 */
export type {
  PolicyProtocol, PolicyDirection, PodPort, PodIdentity, NamespaceIdentity,
  CompiledPort, CompiledRule, CompiledIsolation, PolicyRuleset,
} from './ruleset.js';
export type {
  LabelExpression, LabelSelector, IpBlock, PolicyPeer, PolicyPortSpec, PolicyRule,
  NetworkPolicyObject, PolicyDocuments, PolicyInput,
} from './objects.js';
export { policyKey } from './objects.js';
