import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sodium from 'sodium-native';
import { CLUSTER_PSK_RAW_LABEL, CLUSTER_PSK_SALT_CONTEXT, PROTOCOL_MAX_VERSION, PSK_KDF_PARAMS, isWeftError } from '../common/index.js';
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
const V = PROTOCOL_MAX_VERSION;
/** Independent reference: Argon2id (sync API) with the documented salt and parameters. */
function argon(s: string | Buffer): Buffer {
  const out = Buffer.alloc(32);
  const salt = hash([Buffer.from(CLUSTER_PSK_SALT_CONTEXT)], 16);
  const { opslimit, memlimitBytes } = PSK_KDF_PARAMS[V]!;
  (sodium as unknown as { crypto_pwhash(...a: unknown[]): void }).crypto_pwhash(out, Buffer.from(s), salt, opslimit, memlimitBytes, sodium.crypto_pwhash_ALG_ARGON2ID13);
  return out;
}
const raw = (s: string | Buffer): Buffer => hash([Buffer.from(CLUSTER_PSK_RAW_LABEL), Buffer.from([V]), Buffer.from(s)], 32);
const LONG = 'correct horse battery staple, twice over';
const HEX = 'ab'.repeat(32);
const HEX2 = '0f'.repeat(32);
const isSecretErr = (re: RegExp) => (e: unknown): boolean => isWeftError(e, 'WEFT_ERR_SECRET') && re.test((e as Error).message) && !(e as Error).message.includes('\n');

describe('loadClusterSecret', () => {
  test('Argon2id cost: under 1 s and within the 64 MB budget (measured and printed)', async () => {
    const { memlimitBytes, opslimit } = PSK_KDF_PARAMS[V]!;
    assert.ok(memlimitBytes <= 64 * 1024 * 1024);
    // First test of the file (its own process): the peak RSS growth is this derivation's memory.
    const peak0 = process.resourceUsage().maxRSS;
    const r = await loadClusterSecret({ env: { WEFT_PASSWORD: `${LONG}\n${LONG}!` } });
    const peakGrowthMiB = (process.resourceUsage().maxRSS - peak0) / 1024;
    console.log(`argon2id t=${opslimit} m=${memlimitBytes >> 20} MiB, two passwords: ${r.keyring!.deriveMs} ms; peak RSS growth ${peakGrowthMiB.toFixed(1)} MiB`);
    assert.ok(r.keyring!.deriveMs < 2000, `${r.keyring!.deriveMs} ms for two`);
    assert.ok(peakGrowthMiB < 64, `peak RSS grew ${peakGrowthMiB} MiB: derivations must not overlap`);
  });

  test('no secret configured → no keyring', async () => {
    assert.deepEqual(await loadClusterSecret({}), { keyring: null, psk: null, source: 'none', warnings: [] });
    assert.equal((await loadClusterSecret({ env: { OTHER: 'x' } })).psk, null);
  });

  test('a password gets Argon2id with the documented salt and parameters (independent reference)', async () => {
    const r = await loadClusterSecret({ passwordFile: await secretFile(`${LONG}\n`) });
    assert.equal(r.source, 'file');
    assert.deepEqual(r.psk, argon(LONG));
    assert.deepEqual(r.keyring!.kdfs, ['argon2id']);
    assert.deepEqual(r.warnings, []);
  });

  test('random secrets (64+ hex digits; 32+ binary bytes) take one hash, no Argon2id', async () => {
    const hexr = await loadClusterSecret({ passwordFile: await secretFile(`${HEX}\n`) });
    assert.deepEqual(hexr.psk, raw(HEX));
    assert.deepEqual(hexr.keyring!.kdfs, ['raw']);
    assert.ok(hexr.keyring!.deriveMs < 20);
    // Random bytes, newlines inside included: one binary secret, not lines.
    const bin = Buffer.concat([Buffer.from([0xff, 0xfe, 0x0a, 0x00]), Buffer.alloc(40, 0x0a)]);
    const binr = await loadClusterSecret({ passwordFile: await secretFile(bin) });
    assert.deepEqual(binr.keyring!.kdfs, ['raw']);
    assert.deepEqual(binr.psk, raw(bin.subarray(0, bin.length - 1)));
    // Short hex, or short binary: a password.
    assert.deepEqual((await loadClusterSecret({ env: { WEFT_PASSWORD: 'ab'.repeat(31) } })).keyring!.kdfs, ['argon2id']);
    assert.deepEqual((await loadClusterSecret({ passwordFile: await secretFile(Buffer.from([0xff, 0x01])) })).keyring!.kdfs, ['argon2id']);
  });

  test('two lines: line 1 initiates, both are accepted in order; CRLF and one trailing newline allowed', async () => {
    for (const content of [`${HEX}\n${HEX2}`, `${HEX}\r\n${HEX2}\r\n`]) {
      const r = await loadClusterSecret({ passwordFile: await secretFile(content) });
      assert.equal(r.keyring!.size, 2);
      assert.deepEqual(r.keyring!.initiatePsk(V), raw(HEX));
      assert.deepEqual(r.keyring!.acceptPsks(V), [raw(HEX), raw(HEX2)]);
    }
    const mixed = await loadClusterSecret({ passwordFile: await secretFile(`${LONG}\n${HEX}\n`) });
    assert.deepEqual(mixed.keyring!.kdfs, ['argon2id', 'raw']);
    assert.deepEqual(mixed.keyring!.acceptPsks(V), [argon(LONG), raw(HEX)]);
  });

  test('bad secrets: one-line WEFT_ERR_SECRET naming the problem, never the secret', async () => {
    for (const content of ['', '\n', '\r\n']) await assert.rejects(loadClusterSecret({ passwordFile: await secretFile(content) }), isSecretErr(/empty/));
    await assert.rejects(loadClusterSecret({ env: { WEFT_PASSWORD: '' } }), isSecretErr(/WEFT_PASSWORD is empty/));
    await assert.rejects(loadClusterSecret({ passwordFile: await secretFile(`${HEX}\n\n`) }), isSecretErr(/line 2 is empty/));
    await assert.rejects(loadClusterSecret({ passwordFile: await secretFile(`\n${HEX}`) }), isSecretErr(/line 1 is empty/));
    await assert.rejects(loadClusterSecret({ passwordFile: await secretFile(`${HEX}\n${HEX2}\nthird\n`) }), (e) => isSecretErr(/has 3 lines; at most 2/)(e) && !(e as Error).message.includes(HEX));
    await assert.rejects(loadClusterSecret({ passwordFile: join(root, 'nope') }), isSecretErr(/ENOENT/));
    await assert.rejects(loadClusterSecret({ passwordFile: root }), isSecretErr(/not a regular file/));
    await assert.rejects(loadClusterSecret({ passwordFile: await secretFile(Buffer.alloc(70_000, 0x61)) }), isSecretErr(/limit/));
    const unreadable = await secretFile(LONG, 0o000);
    if (process.getuid?.() !== 0) await assert.rejects(loadClusterSecret({ passwordFile: unreadable }), isSecretErr(/EACCES/));
  });

  test('env WEFT_PASSWORD; file wins when both are set (with a warning)', async () => {
    const env = await loadClusterSecret({ env: { WEFT_PASSWORD: HEX } });
    assert.equal(env.source, 'env');
    assert.deepEqual(env.psk, raw(HEX));
    const both = await loadClusterSecret({ passwordFile: await secretFile(HEX2), env: { WEFT_PASSWORD: HEX } });
    assert.equal(both.source, 'file');
    assert.deepEqual(both.psk, raw(HEX2));
    assert.equal(both.warnings.length, 1);
  });

  test('an inherited descriptor is read to EOF and closed', async () => {
    const fd = openSync(await secretFile(`${HEX}\n`), 'r');
    const r = await loadClusterSecret({ passwordFd: fd });
    assert.equal(r.source, 'fd');
    assert.deepEqual(r.psk, raw(HEX));
    await assert.rejects(loadClusterSecret({ passwordFd: fd }), isSecretErr(/descriptor \d+: EBADF/));
  });

  test('warnings: group/other-readable file and short password; secret never in messages', async () => {
    const secret = 'hunter2';
    const r = await loadClusterSecret({ passwordFile: await secretFile(secret, 0o644) });
    assert.ok(r.psk);
    assert.equal(r.warnings.length, 2);
    assert.match(r.warnings[0]!, /chmod 600/);
    assert.match(r.warnings[1]!, /shorter than/);
    for (const w of r.warnings) assert.ok(!w.includes(secret));
  });

  test('different secrets give different PSKs; the keyring is wiped by destroy()', async () => {
    const a = await loadClusterSecret({ env: { WEFT_PASSWORD: `${HEX}a` } });
    const b = await loadClusterSecret({ env: { WEFT_PASSWORD: `${HEX}b` } });
    assert.notDeepEqual(a.psk, b.psk);
    const held = a.keyring!.initiatePsk(V);
    a.keyring!.destroy();
    assert.deepEqual(held, Buffer.alloc(32));
    assert.throws(() => a.keyring!.initiatePsk(V), (e) => isWeftError(e, 'WEFT_ERR_CLOSED'));
  });
});
