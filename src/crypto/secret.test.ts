import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isWeftError } from '../common/index.js';
import { loadClusterSecret } from './index.js';
import { hash } from './primitives.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'weft-crypto-secret-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function secretFile(content: string | Buffer, mode = 0o600): Promise<string> {
  const p = join(root, `pw-${n++}`);
  await writeFile(p, content);
  await chmod(p, mode);
  return p;
}
const expectedPsk = (s: string): Buffer => hash([Buffer.from('weft cluster psk v1'), Buffer.from(s)], 32);
const LONG = 'correct horse battery staple, twice over';

describe('loadClusterSecret', () => {
  test('no secret configured → psk null', async () => {
    assert.deepEqual(await loadClusterSecret({}), { psk: null, source: 'none', warnings: [] });
    assert.equal((await loadClusterSecret({ env: { OTHER: 'x' } })).psk, null);
  });

  test('file: one trailing newline stripped (LF or CRLF), only one', async () => {
    for (const [content, secret] of [[LONG, LONG], [`${LONG}\n`, LONG], [`${LONG}\r\n`, LONG], [`${LONG}\n\n`, `${LONG}\n`]] as const) {
      const r = await loadClusterSecret({ passwordFile: await secretFile(content) });
      assert.equal(r.source, 'file');
      assert.deepEqual(r.psk, expectedPsk(secret), JSON.stringify(content));
      assert.equal(r.psk!.length, 32);
      assert.deepEqual(r.warnings, []);
    }
  });

  test('env WEFT_PASSWORD; file wins when both are set (with a warning)', async () => {
    const env = await loadClusterSecret({ env: { WEFT_PASSWORD: LONG } });
    assert.equal(env.source, 'env');
    assert.deepEqual(env.psk, expectedPsk(LONG));
    const both = await loadClusterSecret({ passwordFile: await secretFile('from the file, long enough!'), env: { WEFT_PASSWORD: LONG } });
    assert.equal(both.source, 'file');
    assert.deepEqual(both.psk, expectedPsk('from the file, long enough!'));
    assert.equal(both.warnings.length, 1);
  });

  test('empty secrets are refused with WEFT_ERR_SECRET', async () => {
    for (const content of ['', '\n', '\r\n']) {
      await assert.rejects(loadClusterSecret({ passwordFile: await secretFile(content) }), (e) => isWeftError(e, 'WEFT_ERR_SECRET') && /empty/.test((e as Error).message));
    }
    await assert.rejects(loadClusterSecret({ env: { WEFT_PASSWORD: '' } }), (e) => isWeftError(e, 'WEFT_ERR_SECRET'));
  });

  test('missing, unreadable or non-regular files are refused with one-line WEFT_ERR_SECRET', async () => {
    await assert.rejects(loadClusterSecret({ passwordFile: join(root, 'nope') }), (e) => isWeftError(e, 'WEFT_ERR_SECRET') && /ENOENT/.test((e as Error).message));
    await assert.rejects(loadClusterSecret({ passwordFile: root }), (e) => isWeftError(e, 'WEFT_ERR_SECRET') && !(e as Error).message.includes('\n'));
    await assert.rejects(loadClusterSecret({ passwordFile: await secretFile(Buffer.alloc(70_000, 0x61)) }), (e) => isWeftError(e, 'WEFT_ERR_SECRET'));
  });

  test('warnings: group/other-readable file and short secret; secret never in messages', async () => {
    const secret = 'hunter2';
    const r = await loadClusterSecret({ passwordFile: await secretFile(secret, 0o644) });
    assert.ok(r.psk);
    assert.equal(r.warnings.length, 2);
    assert.match(r.warnings[0]!, /chmod 600/);
    assert.match(r.warnings[1]!, /shorter than/);
    for (const w of r.warnings) assert.ok(!w.includes(secret));
  });

  test('different secrets give different PSKs; same secret is stable', async () => {
    const a = await loadClusterSecret({ env: { WEFT_PASSWORD: `${LONG}a` } });
    const b = await loadClusterSecret({ env: { WEFT_PASSWORD: `${LONG}b` } });
    const a2 = await loadClusterSecret({ env: { WEFT_PASSWORD: `${LONG}a` } });
    assert.notDeepEqual(a.psk, b.psk);
    assert.deepEqual(a.psk, a2.psk);
  });
});
