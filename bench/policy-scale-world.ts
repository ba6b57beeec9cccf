/**
 * The synthetic cluster of issue 12's scale target: 1,000 policies, 5,000 pods in the directory,
 * 100 of them local, in 50 namespaces — shaped like a real cluster (apps with web/api/db tiers,
 * named ports, namespace selectors, ipBlocks with except, egress rules, a default-deny per
 * namespace), deterministic for a seed so every run measures the same world.
 *
 * {@link scaleWorld} also places the bench's own two pods (`bench/client`, `bench/server`) in it:
 * both are selected (isolated for ingress and egress) and allowed to talk on the bench ports by
 * a few of the 1,000 policies, so the data-path rows measure traffic that really goes through
 * the policy chains while the other policies are in force beside it.
 */
import type { NamespaceIdentity, NetworkPolicyObject, PodIdentity, PolicyInput, PolicyRule } from '../src/policy/index.js';
import { prng } from '../test/support/ipam-sim.js';

const NAMESPACES = 50;
const APPS = 100;
const TIERS = ['web', 'api', 'db'] as const;
const sel = (matchLabels: Record<string, string>) => ({ matchLabels, matchExpressions: [] });
const ANY = sel({});

/** Pod `i` of the synthetic world: address 10.40.0.0/14 + i + 1. */
export function scalePodIp(i: number): string {
  const n = (10 << 24) + (40 << 16) + i + 1;
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Options of {@link scaleWorld}. */
export interface ScaleWorldOptions {
  policies?: number;
  pods?: number;
  localPods?: number;
  /** Name of the local host (pods 0..localPods-1 live there). */
  localHost?: string;
  /** Addresses of the bench's client and server pods (local), when the data path is measured. */
  benchPods?: { client: string; server: string; ports: readonly number[] };
  seed?: number;
}

export interface ScaleWorld {
  input: PolicyInput;
  /** Addresses of the local pods (the set `compileRuleset` is given). */
  localIps: Set<string>;
}

/** Build the synthetic world. */
export function scaleWorld(o: ScaleWorldOptions = {}): ScaleWorld {
  const nPolicies = o.policies ?? 1000;
  const nPods = o.pods ?? 5000;
  const nLocal = o.localPods ?? 100;
  const host = o.localHost ?? 'local';
  const rnd = prng(o.seed ?? 12);
  const namespaces: NamespaceIdentity[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    namespaces.push({ name: `ns${n}`, labels: { 'kubernetes.io/metadata.name': `ns${n}`, team: `t${n % 10}`, env: n % 3 === 0 ? 'prod' : 'dev' } });
  }
  const pods: PodIdentity[] = [];
  const localIps = new Set<string>();
  for (let i = 0; i < nPods; i++) {
    const ip = scalePodIp(i);
    const local = i < nLocal;
    if (local) localIps.add(ip);
    pods.push({
      namespace: `ns${i % NAMESPACES}`, name: `pod${i}`, ips: [ip], host: local ? host : `host${i % 20}`,
      labels: { app: `app${i % APPS}`, tier: TIERS[i % 3]!, version: `v${i % 4}` },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }],
    });
  }
  const policies: NetworkPolicyObject[] = [];
  if (o.benchPods) {
    const b = o.benchPods;
    namespaces.push({ name: 'bench', labels: { 'kubernetes.io/metadata.name': 'bench', team: 'bench' } });
    const ports = b.ports.map((port) => ({ protocol: 'TCP' as const, port }));
    pods.push({ namespace: 'bench', name: 'server', ips: [b.server], host, labels: { app: 'bench-server' }, ports: [] });
    pods.push({ namespace: 'bench', name: 'client', ips: [b.client], host, labels: { app: 'bench-client' }, ports: [] });
    localIps.add(b.server);
    localIps.add(b.client);
    policies.push(
      { namespace: 'bench', name: 'default-deny', audit: false, podSelector: ANY, policyTypes: ['Egress', 'Ingress'], ingress: [], egress: [] },
      { namespace: 'bench', name: 'server-in', audit: false, podSelector: sel({ app: 'bench-server' }), policyTypes: ['Ingress'],
        ingress: [{ peers: [{ podSelector: sel({ app: 'bench-client' }) }], ports }], egress: [] },
      { namespace: 'bench', name: 'client-out', audit: false, podSelector: sel({ app: 'bench-client' }), policyTypes: ['Egress'],
        ingress: [], egress: [{ peers: [{ podSelector: sel({ app: 'bench-server' }) }], ports }] },
    );
  }
  for (let j = policies.length; j < nPolicies; j++) {
    const ns = `ns${j % NAMESPACES}`;
    if (j % 100 === 0) {
      policies.push({ namespace: ns, name: `deny-all-${j}`, audit: false, podSelector: ANY, policyTypes: ['Ingress'], ingress: [], egress: [] });
      continue;
    }
    const app = `app${Math.floor(rnd() * APPS)}`;
    const ingress: PolicyRule[] = [
      { peers: [{ podSelector: sel({ tier: TIERS[j % 3]! }) }, { namespaceSelector: sel({ team: `t${j % 10}` }), podSelector: sel({ app: `app${(j * 7) % APPS}` }) }],
        ports: [{ protocol: 'TCP', port: 'http' }, { protocol: 'TCP', port: 9000 + (j % 50), endPort: 9100 + (j % 50) }] },
    ];
    if (j % 5 === 0) ingress.push({ peers: [{ ipBlock: { cidr: `192.168.${j % 256}.0/24`, except: [`192.168.${j % 256}.128/25`] } }], ports: [{ protocol: 'TCP', port: 443 }] });
    const egress: PolicyRule[] = j % 4 === 0
      ? [{ peers: [{ namespaceSelector: sel({ env: 'prod' }) }], ports: [{ protocol: 'UDP', port: 'dns' }, { protocol: 'TCP', port: 8080 }] }]
      : [];
    policies.push({
      namespace: ns, name: `p${j}`, audit: j % 97 === 0, podSelector: sel({ app }),
      policyTypes: egress.length > 0 ? ['Egress', 'Ingress'] : ['Ingress'], ingress, egress,
    });
  }
  return { input: { policies, namespaces, pods }, localIps };
}
