/**
 * Kubernetes mode end to end: two real daemons (weft launch --kubeconfig) in namespaces on one
 * underlay read pods, namespaces and NetworkPolicies from a stand-in API server (this machine has
 * no kube-apiserver: test/support/stand-in-apiserver.ts speaks list/watch over HTTPS with the
 * test CA, listening on the underlay bridge so both hosts reach it). Pods are real namespaces
 * attached with `weft attach --ip`; the API server's Pod objects carry the same addresses, as a
 * kubelet's would. A policy created on the server is enforced on the other host's pod; changing
 * it, changing a pod's labels and a namespace's labels on the server move the verdicts; deleting
 * it restores; `weft policy apply` is refused in this mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Lab, REPO, isRoot, sh, WEFT, type LabHost } from '../support/lab.js';
import { waitFor } from '../support/wait.js';
import { StandInApiServer, type KubeJson } from '../support/stand-in-apiserver.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : sh('sh', ['-c', 'command -v nft'], { allowFail: true }).trim() === '' ? 'nft needed (scripts/setup-system.sh)' : false;

const SERVER = join(REPO, 'dist', 'test', 'support', 'policy-server.js');
const PROBER = join(REPO, 'dist', 'test', 'support', 'policy-prober.js');

interface Pod { ns: string; name: string; netns: string; host: LabHost; ip: string; labels: Record<string, string> }

function kubePod(p: Pod, node: string): KubeJson {
  return {
    metadata: { name: p.name, namespace: p.ns, labels: p.labels, resourceVersion: '1' },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
  };
}

function kubeNamespace(name: string, labels: Record<string, string>): KubeJson {
  return { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels }, resourceVersion: '1' }, spec: {}, status: { phase: 'Active' } };
}

/** x/server allows TCP 80 from pods labelled role=friend in namespaces labelled team=blue. */
function kubePolicy(port: number): KubeJson {
  return {
    metadata: { name: 'server-friends', namespace: 'x', resourceVersion: '1' },
    spec: {
      podSelector: { matchLabels: { app: 'server' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } }, podSelector: { matchLabels: { role: 'friend' } } }], ports: [{ protocol: 'TCP', port }] }],
    },
  };
}

/** Whether `from` reaches `to` on TCP `port` (a fresh connection, 600 ms), asked of a one-shot policy-prober. */
async function reaches(from: Pod, to: Pod, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', from.netns, process.execPath, PROBER], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const killer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(killer);
      p.stdin.end();
      const r = JSON.parse(out.slice(0, nl)) as { results?: { ok: boolean; answer: string }[]; error?: string };
      if (!r.results?.[0]) { reject(new Error(`prober: ${r.error ?? out}`)); return; }
      resolve(r.results[0].ok && r.results[0].answer === `ok ${to.ns}/${to.name} ${port}`);
    });
    p.on('close', (code) => { clearTimeout(killer); if (!out.includes('\n')) reject(new Error(`prober exited ${code} without an answer`)); });
    p.stdin.write(JSON.stringify({ id: 1, timeoutMs: 600, probes: [{ ip: to.ip, port, protocol: 'TCP' }] }) + '\n');
  });
}

test('Kubernetes mode: policies, pod labels and namespace labels from the API server are enforced on every host', { skip, timeout: 180_000 }, async () => {
  const lab = new Lab();
  let api: StandInApiServer | null = null;
  try {
    const [h1, h2] = lab.addHosts(2);
    // The stand-in server listens on the underlay bridge (root namespace), which both hosts reach.
    const bridgeIp = h1.ip.replace(/\.\d+$/, '.254');
    sh('ip', ['addr', 'add', `${bridgeIp}/24`, 'dev', `${lab.prefix}br`]);
    api = await StandInApiServer.start({ fixtures: false, host: bridgeIp });
    const kubeconfig = api.writeKubeconfig(lab.dir);
    for (const h of [h1, h2]) {
      lab.launch(h, { peers: h.index === 1 ? [] : [h1.ip], extraArgs: ['--kubeconfig', kubeconfig, '--ipalloc-init', 'consensus=2'] });
    }
    await lab.until('both hosts synced with the API server', 30_000, async () => {
      for (const h of [h1, h2]) if ((await lab.status(h)).policy?.kube?.synced !== true) return false;
      return true;
    });

    const pods: Pod[] = [
      { ns: 'x', name: 'server', host: h1, ip: '10.32.0.11', labels: { app: 'server' }, netns: '' },
      { ns: 'y', name: 'friend', host: h2, ip: '10.32.0.12', labels: { role: 'friend' }, netns: '' },
      { ns: 'y', name: 'other', host: h2, ip: '10.32.0.13', labels: { role: 'other' }, netns: '' },
    ];
    for (const p of pods) {
      p.netns = lab.netns(`${p.ns}${p.name}`);
      lab.exec(p.host, process.execPath, [WEFT, 'attach', '--api-socket', p.host.socket, '--ip', `${p.ip}/12`, `/run/netns/${p.netns}`], { timeoutMs: 20_000 });
      const srv = lab.track(spawn('ip', ['netns', 'exec', p.netns, process.execPath, SERVER, `${p.ns}/${p.name}`, '80', '81'], { stdio: ['pipe', 'pipe', 'inherit'] }));
      let out = '';
      srv.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      await waitFor(() => out.includes('ready'), { timeoutMs: 10_000, intervalMs: 20, what: `servers in ${p.netns}` });
      api.add('pods', kubePod(p, `node${p.host.index}`));
    }
    const [server, friend, other] = pods as [Pod, Pod, Pod];
    api.add('namespaces', kubeNamespace('x', {}));
    api.add('namespaces', kubeNamespace('y', { team: 'blue' }));
    await lab.until('pods reachable before any policy', 20_000, async () => (await reaches(friend, server, 80)) && (await reaches(other, server, 80)));

    const verdicts = async (port: number) => ({ friend: await reaches(friend, server, port), other: await reaches(other, server, port) });
    const expect = async (what: string, port: number, want: { friend: boolean; other: boolean }) => {
      let got = await verdicts(port);
      await waitFor(async () => { got = await verdicts(port); return got.friend === want.friend && got.other === want.other; },
        { timeoutMs: 15_000, intervalMs: 100, what: `${what}: want ${JSON.stringify(want)}` }).catch((e: Error) => {
        throw new Error(`${e.message}, got ${JSON.stringify(got)}; host 1 policy status ${JSON.stringify(lab.exec(h1, process.execPath, [WEFT, 'status', 'policy', '--json', '--api-socket', h1.socket], { allowFail: true }))}`);
      });
    };

    api.add('networkpolicies', kubePolicy(80));
    await expect('the policy from the API server is enforced on host 1', 80, { friend: true, other: false });
    await expect('a port the policy does not open', 81, { friend: false, other: false });
    const st = await lab.status(h1);
    assert.equal(st.policy?.source, 'kube');
    assert.equal(st.policy?.policies, 1);
    assert.ok((st.policy?.rules ?? 0) >= 1, JSON.stringify(st.policy));

    api.modify('networkpolicies', 'x', 'server-friends', (o) => { (o.spec as { ingress: { ports: { port: number }[] }[] }).ingress[0]!.ports[0]!.port = 81; });
    await expect('the policy changed on the server: port 81 now, 80 closed', 81, { friend: true, other: false });
    await expect('port 80 closed after the change', 80, { friend: false, other: false });

    api.modify('pods', 'y', 'other', (o) => { o.metadata.labels = { role: 'friend' }; });
    await expect('pod y/other relabelled role=friend on the server', 81, { friend: true, other: true });

    api.modify('namespaces', '', 'y', (o) => { o.metadata.labels = { 'kubernetes.io/metadata.name': 'y' }; });
    await expect('namespace y lost team=blue', 81, { friend: false, other: false });

    const refused = weftIn(h2, ['policy', 'apply', '-f', '-'], 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec: {podSelector: {}}\n');
    assert.notEqual(refused.status, 0, 'weft policy apply must be refused in Kubernetes mode');
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(refused.stderr, /Kubernetes/i);

    api.remove('networkpolicies', 'x', 'server-friends');
    await expect('the policy deleted on the server: everything open again', 80, { friend: true, other: true });
  } finally {
    for (const h of lab.hosts) lab.stop(h);
    lab.destroy();
    await api?.close();
  }
});

/** `weft ARGS` on host `h` with `stdin`; exit status and stderr. */
function weftIn(h: LabHost, args: string[], stdin: string): { status: number | null; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', h.ns, process.execPath, WEFT, ...args, '--api-socket', h.socket], { input: stdin, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}
