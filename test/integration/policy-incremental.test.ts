/**
 * The incremental policy path against the real kernel: a PolicyCompiler and a PolicyEdge in a
 * host namespace, a world of 150 policies and 600 pods (30 local), then a seeded sequence of
 * changes (pod labels, local and remote; namespace labels; pods coming and going; policies
 * added, edited and deleted). After every change the kernel's `inet weft_policy` table and the
 * host-gw `policed` set must hold exactly what the compiled model says (every set's elements,
 * every chain's rule count), and the compiled ruleset must equal a full compileRuleset. Label
 * and pod changes must go through the nf_tables netlink batch (no `nft` process). Also: a
 * netlink batch is all or nothing, and its errors are typed by errno.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { FASTPATH_NFT_TABLE, isWeftError, silentLogger } from '../../src/common/index.js';
import { NftNetlink, PolicyEdge, netlinkKernel, policyNftState, type Kernel } from '../../src/host/index.js';
import {
  PolicyCompiler, compileRuleset, type NamespaceIdentity, type NetworkPolicyObject, type PodIdentity, type PolicyInput,
} from '../../src/policy/index.js';
import { isRoot, sh } from '../support/lab.js';
import { PolicyLab } from '../support/policy-lab.js';
import { prng } from '../support/ipam-sim.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : sh('sh', ['-c', 'command -v nft'], { allowFail: true }).trim() === '' ? 'nft needed (scripts/setup-system.sh)' : false;

const sel = (matchLabels: Record<string, string>) => ({ matchLabels, matchExpressions: [] });
const ip = (i: number) => `10.78.${i >> 8}.${i & 255}`;

function world(rnd: () => number): PolicyInput {
  const namespaces: NamespaceIdentity[] = Array.from({ length: 6 }, (_, n) => ({ name: `ns${n}`, labels: { 'kubernetes.io/metadata.name': `ns${n}`, env: n % 2 ? 'prod' : 'dev' } }));
  const pods: PodIdentity[] = Array.from({ length: 600 }, (_, i) => ({
    namespace: `ns${i % 6}`, name: `pod${i}`, ips: [ip(i + 1)], host: i < 30 ? 'local' : `h${i % 5}`,
    labels: { app: `a${i % 12}`, tier: `t${i % 3}` },
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }],
  }));
  return { namespaces, pods, policies: Array.from({ length: 150 }, (_, j) => policy(j, rnd)) };
}

function policy(j: number, rnd: () => number, tag = ''): NetworkPolicyObject {
  const egress = j % 3 === 0 ? [{ peers: [{ namespaceSelector: sel({ env: 'prod' }) }], ports: [{ protocol: 'UDP' as const, port: 'dns' }] }] : [];
  return {
    namespace: `ns${j % 6}`, name: `p${j}${tag}`, audit: j % 17 === 0, podSelector: sel({ app: `a${Math.floor(rnd() * 12)}` }),
    policyTypes: egress.length > 0 ? ['Egress', 'Ingress'] : ['Ingress'],
    ingress: [
      { peers: [{ podSelector: sel({ tier: `t${j % 3}` }) }, { namespaceSelector: sel({ env: j % 2 ? 'prod' : 'dev' }), podSelector: sel({ app: `a${(j * 5) % 12}` }) }],
        ports: [{ protocol: 'TCP', port: 'http' }, { protocol: 'TCP', port: 9000 + (j % 7), endPort: 9010 + (j % 7) }] },
      ...(j % 4 === 0 ? [{ peers: [{ ipBlock: { cidr: `192.168.${j}.0/24`, except: [`192.168.${j}.128/25`] } }], ports: [{ protocol: 'TCP' as const, port: 443 }] }] : []),
    ],
    egress,
  };
}

/** nft JSON element → the canonical text policyNftState uses. */
function elementText(e: unknown): string {
  if (typeof e === 'string' || typeof e === 'number') return String(e);
  const o = e as { concat?: unknown[]; prefix?: { addr: string; len: number }; range?: unknown[]; elem?: { val: unknown } };
  if (o.concat) return o.concat.map(elementText).join(' . ');
  if (o.prefix) return `${o.prefix.addr}/${o.prefix.len}`;
  if (o.range) return `${elementText(o.range[0])}-${elementText(o.range[1])}`;
  if (o.elem) return elementText(o.elem.val);
  return JSON.stringify(e);
}

function kernelSets(h: string, family: string, table: string): { sets: Map<string, string[]>; chains: Map<string, number> } {
  const json = JSON.parse(sh('ip', ['netns', 'exec', h, 'nft', '-j', 'list', 'table', family, table])) as { nftables: Record<string, { name?: string; chain?: string; elem?: unknown[] }>[] };
  const sets = new Map<string, string[]>();
  const chains = new Map<string, number>();
  for (const item of json.nftables) {
    if (item.set) sets.set(item.set.name!, (item.set.elem ?? []).map(elementText).sort());
    if (item.rule) chains.set(item.rule.chain!, (chains.get(item.rule.chain!) ?? 0) + 1);
  }
  return { sets, chains };
}

test('incremental policy: kernel state equals the compiled model after a sequence of changes; label changes by netlink batch', { skip, timeout: 110_000 }, async () => {
  const lab = new PolicyLab();
  try {
    const h = lab.host('h', '10.78.255.254', 'fd78::fe');
    const base = netlinkKernel({ nsPath: `/run/netns/${h}` });
    let nftCalls = 0;
    const kernel: Kernel = {
      get host() { return base.host; },
      openNetns: (p) => base.openNetns(p), setTxChecksum: (...a) => base.setTxChecksum(...a), createTap: (n) => base.createTap(n),
      sysctl: (k, v) => base.sysctl(k, v), readSysctl: (k) => base.readSysctl(k),
      nft: (what, script) => { nftCalls++; return base.nft(what, script); },
      nftElements: (what, changes) => base.nftElements(what, changes),
      nftRuleset: (f) => base.nftRuleset(f), nftList: (w, a) => base.nftList(w, a),
    };
    sh('ip', ['netns', 'exec', h, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0']);
    const edge = new PolicyEdge({ kernel, log: silentLogger() });
    await edge.start();
    const rnd = prng(78);
    let input = world(rnd);
    const compiler = new PolicyCompiler();
    const localIps = (i: PolicyInput) => new Set(i.pods.filter((p) => p.host === 'local').flatMap((p) => p.ips));

    const check = async (what: string): Promise<{ nft: number; rules: number }> => {
      const before = nftCalls;
      const rs = compiler.update(input, localIps(input));
      assert.deepEqual(rs, compileRuleset(input, localIps(input)), `${what}: incremental = full compile`);
      const r = await edge.apply(rs);
      const want = policyNftState(rs);
      const got = kernelSets(h, 'inet', 'weft_policy');
      assert.deepEqual([...got.sets.keys()].sort(), [...want.sets.keys()].sort(), `${what}: set names`);
      for (const [name, set] of want.sets) assert.deepEqual(got.sets.get(name), [...set.elements].sort(), `${what}: elements of ${name}`);
      assert.equal(got.chains.get('egress') ?? 0, want.chains.egress.length, `${what}: egress chain`);
      assert.equal(got.chains.get('ingress') ?? 0, want.chains.ingress.length, `${what}: ingress chain`);
      const policed = kernelSets(h, 'netdev', FASTPATH_NFT_TABLE).sets.get('policed') ?? [];
      assert.deepEqual(policed, [...want.policed].sort(), `${what}: policed`);
      return { nft: nftCalls - before, rules: r.rulesChanged };
    };

    await check('full build');
    const setPod = (i: number, f: (p: PodIdentity) => PodIdentity) => { input = { ...input, pods: input.pods.map((p, k) => (k === i ? f(p) : p)) }; };
    let netlinkOnly = 0;
    for (let step = 0; step < 24; step++) {
      const kind = step % 8;
      const i = Math.floor(rnd() * input.pods.length);
      let what: string;
      if (kind <= 2) {
        // a local pod (kind 0) or any pod relabelled
        const k = kind === 0 ? Math.floor(rnd() * 30) : i;
        setPod(k, (p) => ({ ...p, labels: { ...p.labels, app: `a${Math.floor(rnd() * 12)}`, tier: `t${Math.floor(rnd() * 3)}` } }));
        what = `step ${step}: pod ${k} relabelled`;
      } else if (kind === 3) {
        const n = Math.floor(rnd() * 6);
        input = { ...input, namespaces: input.namespaces.map((ns, k) => (k === n ? { ...ns, labels: { ...ns.labels, env: ns.labels.env === 'prod' ? 'dev' : 'prod' } } : ns)) };
        what = `step ${step}: namespace ns${n} relabelled`;
      } else if (kind === 4) {
        input = { ...input, pods: input.pods.filter((_, k) => k !== i) };
        what = `step ${step}: pod removed`;
      } else if (kind === 5) {
        input = { ...input, pods: [...input.pods, { namespace: `ns${step % 6}`, name: `new${step}`, ips: [ip(1000 + step)], host: step % 2 ? 'local' : 'h1', labels: { app: `a${step % 12}`, tier: 't0' }, ports: [] }] };
        what = `step ${step}: pod added`;
      } else if (kind === 6) {
        input = { ...input, policies: [...input.policies, policy(step, rnd, `-new${step}`)] };
        what = `step ${step}: policy added`;
      } else {
        const j = Math.floor(rnd() * input.policies.length);
        input = { ...input, policies: input.policies.filter((_, k) => k !== j) };
        what = `step ${step}: policy deleted`;
      }
      const r = await check(what);
      if (kind <= 2 && r.rules === 0) {
        assert.equal(r.nft, 0, `${what}: an element-only change runs no nft process`);
        netlinkOnly++;
      }
    }
    assert.ok(netlinkOnly >= 6, `only ${netlinkOnly} label changes were element-only`);
    await edge.stop();
  } finally {
    lab.cleanup();
  }
});

test('NftNetlink: a batch is all or nothing; errors typed by errno', { skip, timeout: 30_000 }, async () => {
  const lab = new PolicyLab();
  let nl: NftNetlink | null = null;
  try {
    const h = lab.host('n', '10.79.0.254', 'fd79::fe');
    const made = spawnSync('ip', ['netns', 'exec', h, 'nft', '-f', '-'], { input: 'add table inet t\nadd set inet t a { type ipv4_addr ; }\nadd set inet t b { type ipv6_addr . inet_proto . inet_service ; }\n' });
    assert.equal(made.status, 0, String(made.stderr));
    nl = NftNetlink.open({ nsPath: `/run/netns/${h}` });
    const a = { family: 'inet' as const, table: 't', set: 'a', keyType: 'ipv4_addr' };
    const b = { family: 'inet' as const, table: 't', set: 'b', keyType: 'ipv6_addr . inet_proto . inet_service' };
    await nl.apply('adding', [{ ...a, verb: 'add', elements: ['10.79.0.1', '10.79.0.2'] }, { ...b, verb: 'add', elements: ['fd79::1 . tcp . 8080', 'fd79::2 . udp . 53'] }]);
    const sets = () => kernelSets(h, 'inet', 't').sets;
    assert.deepEqual(sets().get('a'), ['10.79.0.1', '10.79.0.2']);
    assert.deepEqual(sets().get('b'), ['fd79::1 . tcp . 8080', 'fd79::2 . udp . 53']);
    // One element that is not there: the whole batch (the add before it included) is refused.
    await assert.rejects(nl.apply('mixed', [{ ...a, verb: 'add', elements: ['10.79.0.3'] }, { ...a, verb: 'delete', elements: ['10.79.0.9'] }]),
      (e) => isWeftError(e, 'WEFT_ERR_HOST_NOT_FOUND') && /ENOENT/.test(String(e)));
    assert.deepEqual(sets().get('a'), ['10.79.0.1', '10.79.0.2'], 'nothing of the refused batch applied');
    await assert.rejects(nl.apply('no set', [{ ...a, set: 'missing', verb: 'add', elements: ['10.79.0.3'] }]), (e) => isWeftError(e, 'WEFT_ERR_HOST_NOT_FOUND'));
    await assert.rejects(nl.apply('bad text', [{ ...a, verb: 'add', elements: ['fd79::1'] }]), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
    await nl.apply('deleting', [{ ...a, verb: 'delete', elements: ['10.79.0.1'] }, { ...b, verb: 'delete', elements: ['fd79::2 . udp . 53'] }]);
    assert.deepEqual(sets().get('a'), ['10.79.0.2']);
    assert.deepEqual(sets().get('b'), ['fd79::1 . tcp . 8080']);
  } finally {
    nl?.close();
    lab.cleanup();
  }
});
