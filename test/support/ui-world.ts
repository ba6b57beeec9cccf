/**
 * The small world the web page's test and the docs' screenshots show: three hosts of a lab
 * (real daemons with a cluster secret; hosts 1 and 2 trust the underlay and get an unencrypted
 * VXLAN path, host 3 trusts nothing and is reached by the encrypted sleeve), pods with labels
 * in namespace "shop" on each host, a TCP server in the database pod, and a policy that lets
 * only the API pod reach the database. Everything belongs to the lab: `lab.destroy()` removes it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO, WEFT, type Lab, type LabHost } from './lab.js';
import { waitFor } from './wait.js';

export const UI_PASSWORD = 'ui test password: correct horse battery staple';
export const DB_PORT = 5432;
const PROBE = join(REPO, 'dist', 'test', 'support', 'net-probe.js');

/** Only pods labelled app=api may open connections to the database pods (app=db). */
export const DB_POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-api-only
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: db
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: api
    ports:
    - port: ${DB_PORT}
      protocol: TCP
`;

export interface UiPod { ns: string; name: string; ip: string; host: LabHost }

export interface UiWorld {
  hosts: [LabHost, LabHost, LabHost];
  /** Peer names of the hosts, in order. */
  names: [string, string, string];
  pods: { web: UiPod; api: UiPod; db: UiPod };
  /** Attach another pod (namespace shop) on `host`. */
  pod(host: LabHost, name: string, ip: string, labels: string[]): UiPod;
  /** `weft …` on a host (its API socket); throws on failure. */
  weft(host: LabHost, args: string[]): string;
  /** True when a TCP connection from `from` to the database gets its greeting within `ms`. */
  reachDb(from: UiPod, ms?: number): boolean;
}

/** Build the world in `lab`; resolves once the mesh is full, every path is up and host 1 knows the 3 pods. */
export async function buildUiWorld(lab: Lab): Promise<UiWorld> {
  const [h1, h2, h3] = lab.addHosts(3);
  const trust = ['--trusted-subnets', h1.ip.replace(/\.\d+$/, '.0/24')];
  lab.launch(h1, { password: UI_PASSWORD, extraArgs: trust });
  lab.launch(h2, { password: UI_PASSWORD, peers: [h1.ip], extraArgs: [...trust, '--no-hostgw'] });
  lab.launch(h3, { password: UI_PASSWORD, peers: [h1.ip] });
  const weft = (h: LabHost, args: string[]) => lab.exec(h, process.execPath, [WEFT, ...args, '--api-socket', h.socket], { timeoutMs: 20_000 });
  const pod = (host: LabHost, name: string, ip: string, labels: string[]): UiPod => {
    const ns = lab.netns(name);
    weft(host, ['attach', '--ip', `${ip}/12`, '--namespace', 'shop', '--name', name, ...labels.flatMap((l) => ['--label', l]), ns]);
    return { ns, name, ip, host };
  };
  const web = pod(h1, 'web', '10.32.0.11', ['app=web', 'tier=front']);
  const api = pod(h2, 'api', '10.32.0.12', ['app=api', 'tier=back']);
  const db = pod(h3, 'db', '10.32.0.13', ['app=db', 'tier=data']);
  const srv = lab.track(spawn('ip', ['netns', 'exec', db.ns, process.execPath, PROBE, 'serve', `tcp:${DB_PORT}`], { stdio: ['ignore', 'pipe', 'ignore'] }));
  let out = '';
  srv.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await waitFor(() => out.includes('ready'), { timeoutMs: 10_000, what: 'the database server listening' });
  await lab.until('a full mesh, every connection established on a path, 3 pods known on host 1', 45_000, async () => {
    for (const h of [h1, h2, h3]) {
      const st = await lab.status(h);
      if (st.connections.filter((c) => c.state === 'established' && c.mode).length !== 2) return false;
    }
    return (await lab.status(h1)).policy?.pods === 3;
  });
  const names = await Promise.all([h1, h2, h3].map(async (h) => (await lab.status(h)).name)) as [string, string, string];
  const reachDb = (from: UiPod, ms = 500) =>
    lab.execIn(from.ns, 'sh', ['-c', `${process.execPath} ${PROBE} probe tcp ${db.ip} ${DB_PORT} ${ms} && echo reached`], { allowFail: true, timeoutMs: ms + 5_000 }).includes('reached');
  return { hosts: [h1, h2, h3], names, pods: { web, api, db }, pod, weft, reachDb };
}
