import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isWeftError } from '../common/index.js';
import { IDENTITY_FILE, generateIdentity, loadOrCreateIdentity, peerNameFromPublicKey } from './index.js';
import { publicKeyOf } from './primitives.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'weft-crypto-id-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
const fresh = (): string => join(root, `case-${n++}`, 'nested', 'data');
const isDataDirError = (e: unknown) => isWeftError(e, 'WEFT_ERR_DATA_DIR');

describe('peerNameFromPublicKey', () => {
  test('6 lowercase hex pairs, unicast + locally administered, deterministic', () => {
    for (let i = 0; i < 200; i++) {
      const pk = publicKeyOf(Buffer.alloc(32, i));
      const name = peerNameFromPublicKey(pk);
      assert.match(name, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      const first = parseInt(name.slice(0, 2), 16);
      assert.equal(first & 0x01, 0, 'unicast');
      assert.equal(first & 0x02, 0x02, 'locally administered');
      assert.equal(peerNameFromPublicKey(Buffer.from(pk)), name);
    }
    assert.notEqual(peerNameFromPublicKey(Buffer.alloc(32, 1)), peerNameFromPublicKey(Buffer.alloc(32, 2)));
    assert.throws(() => peerNameFromPublicKey(Buffer.alloc(31)), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
  });

  test('generateIdentity: consistent in-memory identity', () => {
    const id = generateIdentity();
    assert.deepEqual(publicKeyOf(id.secretKey), id.publicKey);
    assert.equal(id.name, peerNameFromPublicKey(id.publicKey));
    assert.notEqual(generateIdentity().name, id.name);
  });
});

describe('loadOrCreateIdentity', () => {
  test('creates the data dir 0700 and key file 0600, and reloads the same identity', async () => {
    const dir = fresh();
    const id = await loadOrCreateIdentity(dir);
    assert.equal(id.publicKey.length, 32);
    assert.equal(id.secretKey.length, 32);
    assert.deepEqual(publicKeyOf(id.secretKey), id.publicKey);
    assert.equal(id.name, peerNameFromPublicKey(id.publicKey));
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const file = join(dir, IDENTITY_FILE);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(file)).size, 72);
    const again = await loadOrCreateIdentity(dir);
    assert.equal(again.name, id.name);
    assert.deepEqual(again.secretKey, id.secretKey);
  });

  test('two concurrent first starts end up with one identity', async () => {
    const dir = fresh();
    const [a, b] = await Promise.all([loadOrCreateIdentity(dir), loadOrCreateIdentity(dir)]);
    assert.equal(a.name, b.name);
    assert.equal((await loadOrCreateIdentity(dir)).name, a.name);
  });

  test('different data dirs give different names', async () => {
    assert.notEqual((await loadOrCreateIdentity(fresh())).name, (await loadOrCreateIdentity(fresh())).name);
  });

  test('key file readable by group/others is refused with a fix', async () => {
    const dir = fresh();
    await loadOrCreateIdentity(dir);
    const file = join(dir, IDENTITY_FILE);
    await chmod(file, 0o644);
    await assert.rejects(loadOrCreateIdentity(dir), (e) => isDataDirError(e) && /chmod 600/.test((e as Error).message));
    await chmod(file, 0o600);
    await loadOrCreateIdentity(dir);
  });

  test('group/world-writable data dir is refused', async () => {
    const dir = fresh();
    await loadOrCreateIdentity(dir);
    await chmod(dir, 0o777);
    await assert.rejects(loadOrCreateIdentity(dir), (e) => isDataDirError(e) && /chmod 700/.test((e as Error).message));
    await chmod(dir, 0o755); // readable but not writable by others is tolerated
    await loadOrCreateIdentity(dir);
  });

  test('wrong size, bad header, corrupt key, symlink and non-directory are refused', async () => {
    const dir = fresh();
    await loadOrCreateIdentity(dir);
    const file = join(dir, IDENTITY_FILE);
    const good = await readFile(file);

    await truncate(file, 71);
    await assert.rejects(loadOrCreateIdentity(dir), (e) => isDataDirError(e) && /71 bytes, expected 72/.test((e as Error).message));

    const badHeader = Buffer.from(good);
    badHeader[0] = 0x57;
    await writeFile(file, badHeader, { mode: 0o600 });
    await assert.rejects(loadOrCreateIdentity(dir), (e) => isDataDirError(e) && /header/.test((e as Error).message));

    const corrupt = Buffer.from(good);
    corrupt[71] = corrupt[71]! ^ 1;
    await writeFile(file, corrupt, { mode: 0o600 });
    await assert.rejects(loadOrCreateIdentity(dir), (e) => isDataDirError(e) && /corrupt/.test((e as Error).message));

    await rm(file);
    const elsewhere = join(root, `target-${n++}`);
    await writeFile(elsewhere, good, { mode: 0o600 });
    await symlink(elsewhere, file);
    await assert.rejects(loadOrCreateIdentity(dir), isDataDirError);

    const notDir = join(root, `file-${n++}`);
    await writeFile(notDir, 'x');
    await assert.rejects(loadOrCreateIdentity(notDir), isDataDirError);
  });

  test('errors are one line and never contain key material', async () => {
    const dir = fresh();
    const id = await loadOrCreateIdentity(dir);
    await chmod(join(dir, IDENTITY_FILE), 0o640);
    try {
      await loadOrCreateIdentity(dir);
      assert.fail('expected failure');
    } catch (e) {
      const msg = (e as Error).message;
      assert.ok(!msg.includes('\n'));
      assert.ok(!msg.includes(id.secretKey.toString('hex')) && !msg.includes(id.secretKey.toString('base64')));
    }
  });
});
