/**
 * The case list of the cyclonus generator (github.com/mattfenwick/cyclonus, pkg/generator:
 * target, rules, peers, port/protocol, example, action, conflict and namespace cases), as data
 * written for weft: the same cases in the same order, with cyclonus' descriptions as names and
 * its tags (a tag's family added, as cyclonus does). Written from reading that generator, not
 * translated from its code. Policies are plain Kubernetes objects here; expectations are not:
 * cyclonus computes them with its own simulator, weft with its reference model
 * (test/support/cyclonus-gen.ts renders the fixture). The generator's upstream-e2e family is the
 * upstream e2e list, already in test/fixtures/policy/conformance-cases.yaml, and is left out.
 */

/** A label selector as Kubernetes writes it. */
export interface Selector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }
export interface Peer { podSelector?: Selector; namespaceSelector?: Selector; ipBlock?: { cidr: string; except?: string[] } }
export interface Port { protocol?: 'TCP' | 'UDP' | 'SCTP'; port?: number | string; endPort?: number }
/** A rule: `ports`/`peers` absent is Go's nil (field left out), `[]` an explicit empty list. */
export interface Rule { ports?: Port[]; peers?: Peer[] }
/** A policy: `ingress`/`egress` absent means that policy type is not listed. */
export interface Netpol { name: string; namespace: string; podSelector: Selector; ingress?: Rule[]; egress?: Rule[] }

/** One step: the actions, in order, then "probe every served port and protocol" or one port. */
export interface CyclonusStep {
  readonly create?: readonly Netpol[];
  readonly update?: readonly Netpol[];
  readonly deletePolicy?: readonly string[];
  readonly createNamespace?: Readonly<Record<string, Record<string, string>>>;
  readonly createPod?: Readonly<Record<string, Record<string, string>>>;
  readonly setNamespaceLabels?: Readonly<Record<string, Record<string, string>>>;
  readonly setPodLabels?: Readonly<Record<string, Record<string, string>>>;
  readonly deletePod?: readonly string[];
  readonly deleteNamespace?: readonly string[];
  /** Absent: every served port and protocol (cyclonus' ProbeAllAvailable). */
  readonly probe?: { port: number; protocol: 'TCP'; namedPort?: string };
}

export interface CyclonusCase { readonly family: string; readonly name: string; readonly tags: readonly string[]; readonly steps: readonly CyclonusStep[] }

/** Cyclonus' tag families: a case tagged with a tag is tagged with its family too. */
const TAG_FAMILIES: Readonly<Record<string, readonly string[]>> = {
  action: ['create-policy', 'delete-policy', 'update-policy', 'create-pod', 'delete-pod', 'set-pod-labels', 'create-namespace', 'delete-namespace', 'set-namespace-labels'],
  target: ['target-namespace', 'target-pod-selector'],
  direction: ['ingress', 'egress'],
  rule: ['deny-all', 'allow-all', 'any-peer', 'any-port-protocol', 'multi-peer', 'multi-port/protocol'],
  'peer-pods': ['all-pods', 'pods-by-label', 'all-namespaces', 'namespaces-by-label', 'policy-namespace', 'namespaces-by-default-label'],
  'peer-ipblock': ['ip-block-no-except', 'ip-block-with-except'],
  port: ['any-port', 'numbered-port', 'named-port', 'end-port'],
  protocol: ['tcp', 'udp', 'sctp'],
  miscellaneous: ['pathological', 'conflict', 'example', 'upstream-e2e'],
};
const FAMILY_OF = new Map(Object.entries(TAG_FAMILIES).flatMap(([f, tags]) => tags.map((t) => [t, f] as const)));

/** The sorted tag set with the families added; throws on a tag cyclonus does not have. */
export function tagSet(tags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const t of tags) {
    const f = FAMILY_OF.get(t);
    if (f === undefined) throw new Error(`cyclonus cases: unknown tag ${t}`);
    out.add(t).add(f);
  }
  return [...out].sort();
}

const one = (family: string, name: string, tags: readonly string[], ...create: Netpol[]): CyclonusCase => {
  const t = tagSet(tags);
  return { family, name: name === '' ? t.join(',') : name, tags: t, steps: [{ create }] };
};

const podIn = (...v: string[]): Selector => ({ matchExpressions: [{ key: 'pod', operator: 'In', values: v }] });
const nsIn = (...v: string[]): Selector => ({ matchExpressions: [{ key: 'ns', operator: 'In', values: v }] });
const DNS_RULE: Rule = { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] };

/** Cyclonus' base policy: x/base selects pod=a; ingress 80/TCP from b,c of x,y; egress 80/TCP to a,b of y,z, and DNS. */
export function basePolicy(): Netpol {
  return {
    name: 'base', namespace: 'x', podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ ports: [{ port: 80, protocol: 'TCP' }], peers: [{ podSelector: podIn('b', 'c'), namespaceSelector: nsIn('x', 'y') }] }],
    egress: [{ ports: [{ port: 80, protocol: 'TCP' }], peers: [{ podSelector: podIn('a', 'b'), namespaceSelector: nsIn('y', 'z') }] }, DNS_RULE],
  };
}

type Dir = 'ingress' | 'egress';
/** The base policy with one change (cyclonus' BuildPolicy with one setter). */
function base(change: (p: Netpol) => void): Netpol { const p = basePolicy(); change(p); return p; }
const setRules = (d: Dir, rules: Rule[]) => base((p) => { p[d] = rules; });
const setPeers = (d: Dir, peers: Peer[]) => base((p) => { p[d]![0] = { ...p[d]![0], peers }; });
const setPorts = (d: Dir, ports: Port[]) => base((p) => { p[d]![0] = { ...p[d]![0], ports }; });

function targetCases(): CyclonusCase[] {
  const selectors: [Selector, string][] = [
    [{}, '["MatchLabels",[],"MatchExpression",null]'],
    [{ matchLabels: { pod: 'a' } }, '["MatchLabels",["pod: a"],"MatchExpression",null]'],
    [podIn('a', 'b'), '["MatchLabels",[],"MatchExpression",[{"key":"pod","operator":"In","values":["a","b"]}]]'],
  ];
  return [
    ...['x', 'y', 'z'].map((ns) => one('target', `set namespace to ${ns}`, ['target-namespace'], base((p) => { p.namespace = ns; }))),
    ...selectors.map(([s, text]) => one('target', `set pod selector to ${text}`, ['target-pod-selector'], base((p) => { p.podSelector = s; }))),
  ];
}

function rulesCases(): CyclonusCase[] {
  return (['egress', 'ingress'] as const).flatMap((d) => [
    one('rules', `${d}: deny all`, [d, 'deny-all'], setRules(d, [])),
    one('rules', `${d}: allow all`, [d, 'allow-all'], setRules(d, [{}])),
  ]);
}

interface NamedPeer { description: string; peer: Peer; tags: string[] }
/** Cyclonus' ten peers; the ipBlock ones are around z/c's address (its last 8 bits zeroed, except the last 4). */
function peers(): NamedPeer[] {
  const c: Selector = { matchLabels: { pod: 'c' } }, x: Selector = { matchLabels: { ns: 'x' } };
  const pods: [string, Selector | undefined, Selector | undefined][] = [
    ['empty pods + nil ns', {}, undefined], ['pods by label + nil ns', c, undefined],
    ['nil pods + empty ns', undefined, {}], ['empty pods + empty ns', {}, {}], ['pods by label + empty ns', c, {}],
    ['nil pods + ns by label', undefined, x], ['empty pods + ns by label', {}, x], ['pods by label + ns by label', c, x],
  ];
  const empty = (s: Selector) => Object.keys(s).length === 0;
  return [
    ...pods.map(([description, podSelector, namespaceSelector]) => ({
      description,
      peer: { ...(podSelector ? { podSelector } : {}), ...(namespaceSelector ? { namespaceSelector } : {}) },
      tags: [namespaceSelector === undefined ? 'policy-namespace' : empty(namespaceSelector) ? 'all-namespaces' : 'namespaces-by-label',
        podSelector === undefined || empty(podSelector) ? 'all-pods' : 'pods-by-label'],
    })),
    { description: 'simple ipblock', peer: { ipBlock: { cidr: '{{zeroes 8 z/c}}' } }, tags: ['ip-block-no-except'] },
    { description: 'ipblock with except', peer: { ipBlock: { cidr: '{{zeroes 8 z/c}}', except: ['{{zeroes 4 z/c}}'] } }, tags: ['ip-block-with-except'] },
  ];
}

function peersCases(): CyclonusCase[] {
  const ps = peers();
  const dirs = ['ingress', 'egress'] as const;
  return [
    ...dirs.map((d) => one('peers', `${d}: empty peers`, [d, 'any-peer'], setPeers(d, []))),
    ...dirs.flatMap((d) => ps.map((p) => one('peers', p.description, [...p.tags, d], setPeers(d, [p.peer])))),
    ...dirs.flatMap((d) => ps.flatMap((p1, i) => ps.slice(i + 1).map((p2) =>
      one('peers', `${d}, 2-peer: ${p1.description}, ${p2.description}`, [...p1.tags, 'multi-peer', d, ...p2.tags], setPeers(d, [p1.peer, p2.peer]))))),
  ];
}

const portTag = (p: Port): string => (p.port === undefined ? 'any-port' : typeof p.port === 'number' ? 'numbered-port' : 'named-port');
const protoTag = (p: Port): string[] => (p.protocol ? [p.protocol.toLowerCase()] : []);

function portProtocolCases(): CyclonusCase[] {
  const single: Port[] = [];
  for (const protocol of [undefined, 'TCP', 'UDP', 'SCTP'] as const) {
    for (const port of [undefined, 80, 81]) single.push({ ...(protocol ? { protocol } : {}), ...(port !== undefined ? { port } : {}) });
  }
  for (const proto of ['tcp', 'udp', 'sctp'] as const) {
    for (const n of [80, 81]) single.push({ protocol: proto.toUpperCase() as Port['protocol'], port: `serve-${n}-${proto}` });
  }
  for (const protocol of ['TCP', 'UDP', 'SCTP'] as const) for (const endPort of [80, 84]) single.push({ protocol, port: 53, endPort });
  const pairs: Port[][] = [
    [{}, { port: 80 }], [{}, { port: 'serve-80-tcp' }], [{}, { protocol: 'UDP' }], [{ port: 80 }, { port: 81 }],
    [{ port: 80 }, { port: 'serve-81-tcp' }], [{ port: 80 }, { protocol: 'UDP', port: 'serve-81-udp' }],
    [{ protocol: 'UDP', port: 80 }, { protocol: 'UDP', port: 'serve-81-udp' }],
  ];
  const dirs = ['egress', 'ingress'] as const;
  return [
    ...dirs.map((d) => one('port-protocol', `${d}: empty port/protocol`, [d, 'any-port-protocol'], setPorts(d, []))),
    ...dirs.flatMap((d) => [
      ...single.map((p) => one('port-protocol', '', [d, portTag(p), ...protoTag(p), ...(p.endPort !== undefined ? ['end-port'] : [])], setPorts(d, [p]))),
      one('port-protocol', "open a named port that doesn't match its protocol", ['pathological', d, 'named-port', 'tcp'], setPorts(d, [{ protocol: 'TCP', port: 'serve-81-udp' }])),
      one('port-protocol', "open a named port that isn't served", ['pathological', d, 'named-port', 'tcp'], setPorts(d, [{ protocol: 'TCP', port: 'serve-7981-udp' }])),
      one('port-protocol', "open a numbered port that isn't served", ['pathological', d, 'numbered-port', 'tcp'], setPorts(d, [{ protocol: 'TCP', port: 7981 }])),
    ]),
    ...dirs.flatMap((d) => pairs.map((pp) => one('port-protocol', '', ['multi-port/protocol', d, ...pp.flatMap((p) => [...protoTag(p), portTag(p)])], setPorts(d, pp)))),
  ];
}

function exampleCases(): CyclonusCase[] {
  const allowNamed: Netpol = { name: 'allow-all', namespace: 'x', podSelector: {}, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] };
  return [{
    family: 'example', name: 'should allow ingress access on one named port', tags: tagSet(['example']),
    steps: [
      { create: [allowNamed] },
      { createNamespace: { w: { ns: 'w' } }, createPod: { 'w/a': { pod: 'a' } } },
      { deletePod: ['w/a'] },
      { deleteNamespace: ['w'] },
      {},
      { probe: { port: 81, protocol: 'TCP' } },
      { probe: { port: 81, protocol: 'TCP', namedPort: 'serve-81-tcp' } },
    ],
  }];
}

function actionCases(): CyclonusCase[] {
  const c = (name: string, tags: string[], steps: CyclonusStep[]): CyclonusCase => ({ family: 'action', name, tags: tagSet(tags), steps });
  return [
    c('Create/delete policy', ['create-policy', 'delete-policy'], [{ create: [basePolicy()] }, { deletePolicy: ['x/base'] }]),
    c('Create/update policy', ['create-policy', 'update-policy'], [{ create: [basePolicy()] }, { update: [setPorts('ingress', [{ protocol: 'UDP', port: 'serve-81-udp' }])] }]),
    c('Create/delete namespace', ['create-namespace', 'delete-namespace'], [
      { create: [basePolicy()] },
      { createNamespace: { 'y-2': { ns: 'y' } }, createPod: { 'y-2/a': { pod: 'a' }, 'y-2/b': { pod: 'b' } } },
      { deleteNamespace: ['y-2'] },
    ]),
    c('Update namespace so that policy applies, then again so it no longer applies', ['set-namespace-labels'], [
      { create: [setPeers('ingress', [{ namespaceSelector: { matchLabels: { 'new-ns': 'qrs' } } }])] },
      { setNamespaceLabels: { y: { ns: 'y', 'new-ns': 'qrs' } } },
      { setNamespaceLabels: { y: { ns: 'y' } } },
    ]),
    c('Create/delete pod', ['create-pod', 'delete-pod'], [{ create: [basePolicy()] }, { createPod: { 'x/d': { pod: 'd' } } }, { deletePod: ['x/d'] }]),
    c('Update pod so that policy applies, then again so it no longer applies', ['set-pod-labels'], [
      { create: [setPeers('ingress', [{ podSelector: { matchLabels: { 'new-label': 'abc' } }, namespaceSelector: nsIn('y', 'z') }])] },
      { setPodLabels: { 'y/b': { pod: 'b', 'new-label': 'abc' } } },
      { setPodLabels: { 'y/b': { pod: 'b' } } },
    ]),
  ];
}

function conflictCases(): CyclonusCase[] {
  const src = { namespace: 'x', podSelector: { matchLabels: { pod: 'b' } } };
  const dst = { namespace: 'y', podSelector: { matchLabels: { pod: 'c' } } };
  type T = typeof src;
  const allowAll: Rule[] = [{}], denyAll: Rule[] = [];
  const byPod: Rule[] = [{ peers: [{ namespaceSelector: {} }] }];
  const byIp: Rule[] = [{ peers: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }];
  const denyByIp: Rule[] = [{ peers: [{ ipBlock: { cidr: '0.0.0.0/31' } }] }];
  const denyByPod: Rule[] = [{ peers: [{ namespaceSelector: { matchLabels: { 'this-will-never-happen': 'qrs123' } } }] }];
  const eg = (name: string, t: T, egress: Rule[]): Netpol => ({ name, ...t, egress });
  const ing = (name: string, t: T, ingress: Rule[]): Netpol => ({ name, ...t, ingress });
  const list: [string, string[], Netpol[]][] = [
    ['deny all from source, allow all to dest', ['deny-all', 'allow-all', 'ingress', 'egress'], [eg('deny-all-egress', src, denyAll), ing('allow-all-ingress', dst, allowAll)]],
    ['allow all from source, deny all to dest', ['deny-all', 'allow-all', 'ingress', 'egress'], [eg('allow-all-egress', src, allowAll), ing('deny-all-ingress', dst, denyAll)]],
    ['deny all + allow all from same source', ['deny-all', 'allow-all', 'egress'], [eg('deny-all-egress', src, denyAll), eg('allow-all-egress', src, allowAll)]],
    ['deny all + allow all to same dest', ['deny-all', 'allow-all', 'ingress'], [ing('deny-all-ingress', dst, denyAll), ing('allow-all-ingress', dst, allowAll)]],
    ['deny all + allow all by pod from same source', ['deny-all', 'all-pods', 'all-namespaces', 'egress'], [eg('deny-all-egress', src, denyAll), eg('allow-all-egress-by-pod', src, byPod)]],
    ['deny all + allow all by IP from same source', ['deny-all', 'egress'], [eg('deny-all-egress', src, denyAll), eg('allow-all-egress-by-ip', src, byIp)]],
    ['deny all by IP + allow all by pod from same source', ['all-pods', 'all-namespaces', 'egress'], [eg('deny-all-egress-by-ip', src, denyByIp), eg('allow-all-egress-by-pod', src, byPod)]],
    ['deny all by pod + allow all by IP from same source', ['egress'], [eg('deny-all-egress-by-pod', src, denyByPod), eg('allow-all-egress-by-ip', src, byIp)]],
    // cyclonus aims these four "to same source" at the source pod (x/b) itself
    ['deny all + allow all by pod to same source', ['deny-all', 'ingress', 'all-pods', 'all-namespaces'], [ing('deny-all-ingress', src, denyAll), ing('allow-all-ingress-by-pod', src, byPod)]],
    ['deny all + allow all by IP to same source', ['deny-all', 'ingress'], [ing('deny-all-ingress', src, denyAll), ing('allow-all-ingress-by-ip', src, byIp)]],
    ['deny all by IP + allow all by pod to same source', ['ingress', 'all-pods', 'all-namespaces'], [ing('deny-all-ingress-by-ip', src, denyByIp), ing('allow-all-ingress-by-pod', src, byPod)]],
    ['deny all by pod + allow all by IP to same source', ['ingress'], [ing('deny-all-ingress-by-pod', src, denyByPod), ing('allow-all-ingress-by-ip', src, byIp)]],
    ['egress: deny all by IP', ['egress'], [eg('deny-all-egress-by-ip', src, denyByIp)]],
    ['egress: deny all by pod', ['egress'], [eg('deny-all-egress-by-ip', src, denyByPod)]],
    ['ingress: deny all by IP', ['ingress'], [ing('deny-all-ingress-by-ip', src, denyByIp)]],
    ['ingress: deny all by pod', ['ingress'], [ing('deny-all-ingress-by-ip', src, denyByPod)]],
  ];
  // cyclonus runs with --allow-dns (its default): a case with an egress policy gets x/allow-dns too
  return list.map(([name, tags, policies]) => one('conflict', name, [...tags, 'conflict'], ...policies,
    ...(policies.some((p) => p.egress !== undefined) ? [{ name: 'allow-dns', ...src, egress: [DNS_RULE] }] : [])));
}

function namespaceCases(): CyclonusCase[] {
  const peer: Peer[] = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'z' } } }];
  return (['ingress', 'egress'] as const).map((d) => one('namespace', `${d}: select namespace by default label`, ['namespaces-by-default-label', d], setPeers(d, peer)));
}

/** Every case, in cyclonus' order (GenerateAllTestCases without the upstream-e2e family). */
export function cyclonusCases(): CyclonusCase[] {
  return [...targetCases(), ...rulesCases(), ...peersCases(), ...portProtocolCases(), ...exampleCases(), ...actionCases(), ...conflictCases(), ...namespaceCases()];
}
