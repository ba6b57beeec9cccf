/**
 * LocalStateWatcher over a fake addon (the same calls as the native one): which kernel events
 * count, debouncing, and one overflow call per ENOBUFS incident; nftObjects on libnftables JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../common/index.js';
import { LocalStateWatcher, relevant, type LocalChange } from './local-watcher.js';
import { nftObjects } from './hostgw.js';
import { AF_BRIDGE, NUD_NOARP, NUD_PERMANENT, RTM_NEWLINK, RTM_NEWNEIGH } from './netlink-abi.js';
import { encodeRequest } from './netlink-codec.js';
import { ifinfomsg, ndmsg } from './rtnl-messages.js';
import type { KernelAddon } from './netlink-socket.js';
import type { PollHandle } from './native-addon.js';

const link = (family = 0) => encodeRequest({ type: RTM_NEWLINK, flags: 0, seq: 0, header: ifinfomsg({ family, index: 3 }) });
const fdb = (state: number) => encodeRequest({ type: RTM_NEWNEIGH, flags: 0, seq: 0, header: ndmsg({ family: AF_BRIDGE, index: 3, state }) });

class FakeAddon implements Partial<KernelAddon> {
  queue: (Buffer | 'ENOBUFS')[] = [];
  cb: (() => void) | null = null;
  opened = 0;
  netnsSocket(): number { this.opened++; return 7; }
  nlSetup(): void {}
  pollStart(_fd: number, cb: () => void): PollHandle { this.cb = cb; return {} as PollHandle; }
  pollStop(): void { this.cb = null; }
  close(): void {}
  nlRecv(_fd: number, buf: Uint8Array): number {
    const m = this.queue.shift();
    if (m === undefined) return -1;
    if (m === 'ENOBUFS') throw Object.assign(new Error('ENOBUFS'), { errno: -105 });
    buf.set(m);
    return m.length;
  }
  push(...m: (Buffer | 'ENOBUFS')[]): void {
    this.queue.push(...m);
    this.cb?.();
  }
}

const waitFor = async (f: () => boolean) => {
  for (let i = 0; i < 100 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(f(), 'condition not reached');
};

test('relevant: links count (not bridge port-info), learned FDB entries count, static/permanent ones and neighbours do not', () => {
  const l = { index: 1, name: 'x', kind: '', mac: '', mtu: 1500, master: 0, up: true };
  assert.equal(relevant({ kind: 'link', op: 'new', link: { ...l, family: 0 } }), 'link');
  assert.equal(relevant({ kind: 'link', op: 'del', link: { ...l, family: AF_BRIDGE } }), null);
  const n = { family: AF_BRIDGE, index: 3, state: 0x02, flags: 0 };
  assert.equal(relevant({ kind: 'neigh', op: 'new', neigh: n }), 'fdb');
  assert.equal(relevant({ kind: 'neigh', op: 'new', neigh: { ...n, state: NUD_NOARP } }), null);
  assert.equal(relevant({ kind: 'neigh', op: 'new', neigh: { ...n, state: NUD_PERMANENT } }), null);
  assert.equal(relevant({ kind: 'neigh', op: 'new', neigh: { ...n, family: 2 } }), null);
  assert.equal(relevant({ kind: 'addr', op: 'new', addr: { index: 1, family: 4, address: '10.0.0.1', prefixLength: 8, scope: 0 } }), null);
});

test('LocalStateWatcher: events coalesce into one changed() per window; an overflow calls overflow() once and reopens', async () => {
  const addon = new FakeAddon();
  const changes: LocalChange[][] = [];
  const overflows: string[] = [];
  const w = new LocalStateWatcher({ log: silentLogger(), debounceMs: 30, addon: addon as unknown as KernelAddon });
  w.start({ changed: (s) => changes.push([...s].sort()), overflow: (r) => overflows.push(r) });
  addon.push(link(), link(AF_BRIDGE), fdb(0x02), fdb(NUD_NOARP));
  addon.push(link());
  await waitFor(() => changes.length === 1);
  assert.deepEqual(changes, [['fdb', 'link']]);
  addon.push(link(AF_BRIDGE), fdb(NUD_PERMANENT)); // nothing relevant: no call
  addon.push(link(), 'ENOBUFS', link());
  await waitFor(() => overflows.length === 1);
  assert.match(overflows[0]!, /ENOBUFS/);
  assert.equal(addon.opened, 2, 'the socket was reopened after the overflow');
  assert.equal(w.stats.overflows, 1);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(changes.length, 1, 'the overflow covers the pending change; no extra call');
  w.stop();
  addon.push(link());
  assert.equal(addon.cb, null);
});

test('nftObjects: chains, maps with concatenated keys, sets; junk is skipped', () => {
  const json = { nftables: [
    { metainfo: { version: '1.0.6' } },
    { table: { family: 'netdev', name: 'weft_hostgw' } },
    { map: { table: 'weft_hostgw', name: 'remote', elem: [[{ concat: ['aa:bb:cc:dd:ee:01', '10.32.0.11'] }, '198.18.0.2']] } },
    { set: { table: 'weft_hostgw', name: 'remote_src', elem: ['10.32.0.11', { elem: { val: '10.32.0.12', counter: {} } }] } },
    { map: { table: 'weft_hostgw', name: 'local_dev', elem: [['10.32.0.10', 'vethA'], ['bad'], 5] } },
    { chain: { table: 'weft_hostgw', name: 'port_76657468', hook: 'ingress' } },
    null, 'junk', { rule: { table: 'weft_hostgw' } },
  ] };
  const o = nftObjects(json);
  assert.deepEqual(o.map((x) => `${x.kind}:${x.name}:${x.elems.length}`), ['set:remote:1', 'set:remote_src:2', 'set:local_dev:2', 'chain:port_76657468:0']);
  assert.deepEqual(o[0]!.elems[0], [['aa:bb:cc:dd:ee:01', '10.32.0.11'], '198.18.0.2']);
  assert.deepEqual(o[2]!.elems, [['10.32.0.10', 'vethA'], ['5', null]]);
  assert.deepEqual(nftObjects(null), []);
  assert.deepEqual(nftObjects({ nftables: 'x' }), []);
});
