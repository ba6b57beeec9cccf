import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common/index.js';
import { Ipam } from './index.js';

const SELF = '02:00:00:00:00:42';
const indexUrl = new URL('./index.js', import.meta.url).href;
const commonUrl = new URL('../common/index.js', import.meta.url).href;

/**
 * A child daemon allocates as fast as it can and prints every address once `allocate()`
 * resolved; it is SIGKILLed at an arbitrary moment. Every printed address must be there after a
 * restart, and no address may ever be handed out twice across the restarts.
 */
function runUntilKilled(dataDir: string, prefix: string, killAfter: number): Promise<Array<[string, string]>> {
  const script = `
    const { Ipam } = await import(${JSON.stringify(indexUrl)});
    const { silentLogger } = await import(${JSON.stringify(commonUrl)});
    const ipam = new Ipam({ self: ${JSON.stringify(SELF)}, nickname: 'k', range: '10.77.0.0/22', init: { seeds: [${JSON.stringify(SELF)}] }, dataDir: ${JSON.stringify(dataDir)}, log: silentLogger() });
    ipam.start();
    for (let i = 0; ; i++) {
      const owner = ${JSON.stringify(prefix)} + i;
      const a = await ipam.allocate(owner);
      process.stdout.write(owner + ' ' + a.address + '\\n');
      if (i % 7 === 3) ipam.free(${JSON.stringify(prefix)} + (i - 2));
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen: Array<[string, string]> = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [owner, address] = buf.slice(0, nl).split(' ') as [string, string];
        buf = buf.slice(nl + 1);
        seen.push([owner, address]);
        if (seen.length === killAfter) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited without being killed (${signal})`));
      else resolve(seen);
    });
  });
}

test('allocations acknowledged before a SIGKILL survive it, and are never handed out twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-ipam-kill-'));
  try {
    const everAcked = new Map<string, string>(); // address → owner (last acknowledged holder)
    for (const [round, killAfter] of [[0, 40], [1, 75], [2, 13]] as const) {
      const acked = await runUntilKilled(dir, `r${round}-`, killAfter);
      assert.ok(acked.length >= killAfter);
      const ipam = new Ipam({ self: SELF, nickname: 'k', range: '10.77.0.0/22', init: { seeds: [SELF] }, dataDir: dir, log: silentLogger() });
      ipam.start();
      const held = new Map(ipam.list().map((a) => [a.owner, a.address]));
      ipam.stop();
      acked.forEach(([owner, address], i) => {
        const freedLater = acked.some(([, , ], j) => j > i && j % 7 === 3 && acked[j - 2]?.[0] === owner);
        if (!freedLater) assert.equal(held.get(owner), address, `${owner} lost its address ${address} after SIGKILL`);
      });
      for (const [owner, address] of held) {
        const prev = everAcked.get(address);
        assert.ok(prev === undefined || prev === owner || !held.has(prev), `${address} given to ${prev} and ${owner}`);
        everAcked.set(address, owner);
      }
      assert.equal(new Set(held.values()).size, held.size, 'an address is held twice');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
