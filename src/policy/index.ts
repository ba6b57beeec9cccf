/**
 * Network policy (issue 12). {@link PolicyRuleset} (ruleset.ts) is what the model compiles per
 * host and the kernel edge enforces; the policy objects (objects.ts) are what `weft policy
 * apply`, Kubernetes mode and the mesh's policy store carry. The model: validation
 * (`parsePolicyDocuments`, `fromKubeObject`), selectors, the reference semantics
 * (`evaluateConnection`), compilation (`compileRuleset`) and what a ruleset means
 * (`rulesetAllows`), and `explain`. Pure: no I/O.
 */
export type {
  PolicyProtocol, PolicyDirection, PodPort, PodIdentity, NamespaceIdentity,
  CompiledPort, CompiledRule, CompiledIsolation, PolicyRuleset,
} from './ruleset.js';
export type {
  LabelExpression, LabelSelector, IpBlock, PolicyPeer, PolicyPortSpec, PolicyRule,
  NetworkPolicyObject, PolicyDocuments, PolicyInput, PolicyInputSource,
} from './objects.js';
export { policyKey } from './objects.js';
export {
  matchesSelector, isEmptySelector, NAMESPACE_NAME_LABEL,
  dns1123LabelProblem, dns1123SubdomainProblem, labelKeyProblem, labelValueProblem, portNameProblem,
} from './labels.js';
export { parsePolicyDocuments, fromKubeObject, parsePolicyRef } from './parse.js';
export { POLICY_MODE_ANNOTATION, DEFAULT_NAMESPACE } from './validate.js';
export {
  subtractCidrs, normalizeCidrs, cidrsContain, compareAddresses,
  unionIntervals, subtractIntervals, intervalsToCidrs, type AddressInterval,
} from './cidr-set.js';
export { sortByAddress } from './cidr-set.js';
export { indexPolicyInput, podKey, type PolicyWorld } from './world.js';
export {
  evaluateConnection, ruleId,
  type Endpoint, type ConnectionAddresses, type SideVerdict, type ConnectionVerdict,
} from './reference.js';
export { compileRuleset } from './compile.js';
export { PolicyCompiler, type CompileStats } from './incremental.js';
export { policyInputDigest } from './digest.js';
export { rulesetAllows, type RulesetVerdict } from './ruleset-eval.js';
export { explainVerdict, formatExplanation, type Explanation, type ExplainedEndpoint } from './explain.js';
export {
  loadConformanceCases, conformanceWorld, conformancePorts, substituteAddresses, applyConformanceStep, expectedAllowed,
  type ConformanceCase, type ConformanceStep, type ConformanceProbe, type ConformanceWorldSpec,
} from './conformance.js';
