import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError, isWeftError, silentLogger } from '../common/index.js';
import type { PolicyRuleset } from '../policy/index.js';
import type { Kernel } from './kernel.js';
import { PolicyEdge } from './policy-edge.js';
import { nftId } from './policy-nft.js';
import { elementChangeScript, type NftElementChange } from './nft-netlink.js';

/** A kernel that records nft transactions, fails the ones `refuse` picks, and answers the listings PolicyEdge reads. */
function recordingKernel(o: { tableExists?: boolean; sysctl?: string } = {}) {
  const scripts: string[] = [];
  const sysctls = new Map([['net.bridge.bridge-nf-call-iptables', o.sysctl ?? '0'], ['net.bridge.bridge-nf-call-ip6tables', o.sysctl ?? '0']]);
  let refuse: (s: string) => boolean = () => false;
  const bridgeNf = new Map<string, boolean>();
  const nope = (): never => { throw new WeftError('WEFT_ERR_INTERNAL', 'not used'); };
  const nft = async (what: string, script: string): Promise<void> => {
    if (refuse(script)) throw new WeftError('WEFT_ERR_HOST', `${what} failed: Error: Could not process rule: No such file or directory`);
    scripts.push(script);
  };
  const kernel = {
    get host() { return { setBridgeNfCall: async (b: string, on: boolean) => { bridgeNf.set(b, on); } } as unknown as Kernel['host']; },
    openNetns: nope, setTxChecksum: nope, createTap: nope,
    sysctl: async (k: string, v: string) => { sysctls.set(k, v); },
    readSysctl: async (k: string) => sysctls.get(k) ?? nope(),
    nft,
    nftElements: (what: string, changes: readonly NftElementChange[]) => nft(what, elementChangeScript(changes)),
    nftRuleset: async () => ({ nftables: [] }),
    nftList: async (_what: string, args: readonly string[]) => {
      if (args[0] === 'tables') return { nftables: o.tableExists ? [{ table: { family: 'inet', name: 'weft_policy' } }] : [] };
      return { nftables: [{ counter: { name: nftId('c', 'ns/a|ingress|enforce'), packets: 3, bytes: 180 } }] };
    },
  } satisfies Kernel;
  return { kernel, scripts, sysctls, bridgeNf, refuseWhen: (f: (s: string) => boolean) => { refuse = f; } };
}

const RS: PolicyRuleset = {
  localPods: ['10.1.0.2'],
  isolations: [{ policy: 'ns/a', direction: 'ingress', audit: false, targets: ['10.1.0.2'] }],
  rules: [{ id: 'ns/a/ingress/0', policy: 'ns/a', direction: 'ingress', audit: false, targets: ['10.1.0.2'], peers: ['10.1.0.3/32'], ports: 'any', destPorts: [] }],
};

test('PolicyEdge: sysctls on and restored, one transaction per apply, idempotent, failed diff → one rebuild, state kept on failure', async () => {
  const k = recordingKernel();
  const edge = new PolicyEdge({ kernel: k.kernel, log: silentLogger() });
  await assert.rejects(edge.apply(RS), (e) => isWeftError(e, 'WEFT_ERR_CLOSED'));
  await edge.start();
  assert.equal(k.sysctls.get('net.bridge.bridge-nf-call-iptables'), '1');
  assert.equal(k.scripts.length, 1, 'the empty table');
  const r = await edge.apply(RS);
  assert.equal(r.changed, true);
  assert.equal(k.scripts.length, 2);
  assert.deepEqual(await edge.apply(RS), { changed: false, elementsAdded: 0, elementsRemoved: 0, rulesChanged: 0 });
  assert.equal(k.scripts.length, 2, 'no transaction for no change');
  assert.deepEqual(edge.policedPods(), ['10.1.0.2']);

  // The kernel lost something: the diff is refused, one full rebuild follows.
  const next = { ...RS, rules: [{ ...RS.rules[0]!, peers: ['10.1.0.4/32'] }] };
  k.refuseWhen((s) => s.includes('delete element'));
  await edge.apply(next);
  assert.match(k.scripts.at(-1)!, /^add table inet weft_policy\ndelete table inet weft_policy\n/);
  assert.match(k.scripts.at(-1)!, /packets 3 bytes 180/, 'counts carried into the rebuild');

  // Everything refused: the error is typed and the last good state stays (the next diff is against it).
  k.refuseWhen(() => true);
  await assert.rejects(edge.apply(RS), (e) => isWeftError(e, 'WEFT_ERR_HOST'));
  k.refuseWhen(() => false);
  await edge.apply(RS);
  assert.match(k.scripts.at(-1)!, /delete element inet weft_policy \S+_p4 \{ 10\.1\.0\.4 \}/);
  await assert.rejects(edge.apply({ ...RS, localPods: [], rules: [{ ...RS.rules[0]!, targets: ['nope'] }] }), (e) => isWeftError(e, 'WEFT_ERR_POLICY_INVALID'));

  assert.deepEqual(await edge.counters(), [{ policy: 'ns/a', direction: 'ingress', audit: false, packets: 3, bytes: 180 }]);
  await edge.stop();
  assert.match(k.scripts.at(-1)!, /delete table inet weft_policy/);
  assert.equal(k.sysctls.get('net.bridge.bridge-nf-call-iptables'), '0', 'restored: it was 0');
});

test('PolicyEdge: a table left by a previous run is adopted (no transaction at start) and rebuilt by the first apply; sysctls already 1 stay', async () => {
  const k = recordingKernel({ tableExists: true, sysctl: '1' });
  const edge = new PolicyEdge({ kernel: k.kernel, log: silentLogger() });
  await edge.start();
  assert.equal(k.scripts.length, 0, 'the old table stays in force until the first apply');
  await edge.apply(RS);
  assert.match(k.scripts[0]!, /^add table inet weft_policy\ndelete table inet weft_policy\nadd table inet weft_policy\n/);
  await edge.stop();
  assert.equal(k.sysctls.get('net.bridge.bridge-nf-call-iptables'), '1');
});

test('PolicyEdge with a bridge: br_netfilter on for that bridge only (sysctls untouched), off after stop', async () => {
  const k = recordingKernel();
  const edge = new PolicyEdge({ kernel: k.kernel, log: silentLogger(), bridge: 'weft' });
  await edge.start();
  assert.equal(k.bridgeNf.get('weft'), true);
  assert.equal(k.sysctls.get('net.bridge.bridge-nf-call-iptables'), '0');
  await edge.stop();
  assert.equal(k.bridgeNf.get('weft'), false);
});
