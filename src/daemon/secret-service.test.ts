import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_MAX_VERSION, isWeftError, silentLogger } from '../common/index.js';
import type { DaemonConfig } from './config.js';
import { SecretService } from './secret-service.js';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'wft-secret-svc-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });
const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const cfg = (c: Partial<DaemonConfig>): DaemonConfig => c as DaemonConfig;

test('rotate swaps the keyring for new handshakes; a bad file keeps the old one; WEFT_PASSWORD leaves process.env', async () => {
  const file = join(dir, 'secret');
  await writeFile(file, `${A}\n`, { mode: 0o600 });
  const svc = new SecretService(cfg({ passwordFile: file }), silentLogger());
  await svc.load();
  const first = svc.keyring()!;
  const psk = (k = svc.keyring()!) => k.initiatePsk(PROTOCOL_MAX_VERSION).toString('hex');
  const pskA = psk();
  assert.deepEqual({ ...svc.status(), deriveMs: 0 }, { source: 'file', secrets: 1, kdf: ['raw'], deriveMs: 0 });

  await writeFile(file, `${A}\n${B}\n`);
  const r = await svc.rotate();
  assert.equal(r.secrets, 2);
  assert.ok(r.rotatedAt);
  assert.equal(psk(), pskA, 'line 1 still initiates');
  assert.equal(psk(first), pskA, 'the replaced keyring stays usable for handshakes already begun');
  await writeFile(file, `${B}\n${A}\n${A}\n`);
  await assert.rejects(svc.rotate(), (e) => isWeftError(e, 'WEFT_ERR_SECRET') && /3 lines/.test((e as Error).message));
  assert.equal(svc.status().secrets, 2, 'a failed rotation changes nothing');
  const other = join(dir, 'other');
  await writeFile(other, `${B}\n`, { mode: 0o600 });
  await svc.rotate(other);
  assert.notEqual(psk(), pskA);
  await writeFile(other, `${A}\n`);
  await svc.rotate();
  assert.equal(psk(), pskA, 'the new path is the file for later rotations');
  svc.stop();
  assert.throws(() => first.initiatePsk(PROTOCOL_MAX_VERSION), (e) => isWeftError(e, 'WEFT_ERR_CLOSED'), 'stop() wiped the retired keyrings');

  process.env.WEFT_PASSWORD = A;
  const fromEnv = new SecretService(cfg({}), silentLogger());
  await fromEnv.load();
  assert.equal(process.env.WEFT_PASSWORD, undefined);
  assert.equal(fromEnv.status().source, 'env');
  await assert.rejects(fromEnv.rotate(), (e) => isWeftError(e, 'WEFT_ERR_SECRET') && /--password-file PATH/.test((e as Error).message));
  fromEnv.stop();

  const none = new SecretService(cfg({}), silentLogger());
  await none.load();
  assert.equal(none.keyring(), null);
  await assert.rejects(none.rotate(file), (e) => isWeftError(e, 'WEFT_ERR_SECRET') && /without a cluster secret/.test((e as Error).message));
});
