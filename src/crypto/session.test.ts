import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DATA_KEY_EPOCH_SPAN, SESSION_MAX_MESSAGES, isWeftError } from '../common/index.js';
import type { DataKeysLike } from '../mesh/index.js';
import { CipherState, DataKeySchedule, Handshake, generateIdentity as testIdentity, type Session } from './index.js';
import { aeadSeal, newNonce } from './primitives.js';

function sessions(psk: Buffer | null = Buffer.alloc(32, 3)): { si: Session; sr: Session } {
  const prologue = Buffer.from('p');
  const init = new Handshake({ role: 'initiator', identity: testIdentity(), psk, prologue });
  const resp = new Handshake({ role: 'responder', identity: testIdentity(), psk, prologue });
  resp.readMessage(init.writeMessage());
  init.readMessage(resp.writeMessage());
  resp.readMessage(init.writeMessage());
  return { si: init.split(), sr: resp.split() };
}

const hex = (b: Buffer): string => b.toString('hex');

describe('CipherState', () => {
  test('in-order messages interoperate; reordering, replay, truncation and tampering fail with WEFT_ERR_AUTH', () => {
    const { si, sr } = sessions();
    const a = si.send.seal(Buffer.from('one'));
    const b = si.send.seal(Buffer.from('two'));
    assert.equal(a.length, 3 + 16);
    assert.throws(() => sr.recv.open(b), (e) => isWeftError(e, 'WEFT_ERR_AUTH'));
    assert.equal(sr.recv.open(a).toString(), 'one', 'a failed open does not advance the counter');
    assert.equal(sr.recv.open(b).toString(), 'two');
    assert.throws(() => sr.recv.open(b), (e) => isWeftError(e, 'WEFT_ERR_AUTH'), 'replay');
    const { si: s2, sr: r2 } = sessions();
    const c = s2.send.seal(Buffer.from('three'));
    assert.throws(() => r2.recv.open(c.subarray(0, 10)), (e) => isWeftError(e, 'WEFT_ERR_AUTH'));
    const t = Buffer.from(c);
    t[0] = t[0]! ^ 1;
    assert.throws(() => r2.recv.open(t), (e) => isWeftError(e, 'WEFT_ERR_AUTH'));
    assert.equal(r2.recv.open(c).toString(), 'three');
    assert.equal(sr.recv.open(si.send.seal(Buffer.alloc(0))).length, 0, 'empty message');
  });

  test('refuses with WEFT_ERR_CLOSED at the message limit and after destroy', () => {
    const key = Buffer.alloc(32, 5);
    const tx = new CipherState(key, SESSION_MAX_MESSAGES - 1);
    const rx = new CipherState(key, SESSION_MAX_MESSAGES - 1);
    assert.equal(rx.open(tx.seal(Buffer.from('last'))).toString(), 'last');
    assert.throws(() => tx.seal(Buffer.from('x')), (e) => isWeftError(e, 'WEFT_ERR_CLOSED'));
    assert.throws(() => rx.open(Buffer.alloc(20)), (e) => isWeftError(e, 'WEFT_ERR_CLOSED'));
    const c = new CipherState(key);
    c.destroy();
    c.destroy();
    assert.throws(() => c.seal(Buffer.from('x')), (e) => isWeftError(e, 'WEFT_ERR_CLOSED'));
  });

  test('nonce is 4 zero bytes + little-endian 64-bit counter (above 2^32 too)', () => {
    const key = Buffer.alloc(32, 9);
    const n = 2 ** 40 + 5;
    const expectNonce = Buffer.alloc(12);
    expectNonce.writeBigUInt64LE(BigInt(n), 4);
    const ref = aeadSeal(key, newNonce(), n, null, Buffer.from('abc'));
    assert.equal(hex(new CipherState(key, n).seal(Buffer.from('abc'))), hex(ref));
    const nonce = newNonce();
    aeadSeal(key, nonce, n, null, Buffer.alloc(0));
    assert.equal(hex(nonce), hex(expectNonce));
  });
});

describe('DataKeySchedule', () => {
  test('initiator send == responder recv and vice versa, for several epochs', () => {
    const { si, sr } = sessions();
    for (let e = 0; e < DATA_KEY_EPOCH_SPAN; e++) {
      assert.equal(hex(si.dataKeys.keys(e).send), hex(sr.dataKeys.keys(e).recv));
      assert.equal(hex(si.dataKeys.keys(e).recv), hex(sr.dataKeys.keys(e).send));
      assert.equal(si.dataKeys.keys(e).send.length, 32);
    }
  });

  test('direction-separated, different per epoch, different from the TCP keys', () => {
    const { si } = sessions();
    const seen = new Set<string>();
    for (let e = 0; e < DATA_KEY_EPOCH_SPAN; e++) {
      const k = si.dataKeys.keys(e);
      seen.add(hex(k.send));
      seen.add(hex(k.recv));
    }
    assert.equal(seen.size, 2 * DATA_KEY_EPOCH_SPAN);
    // A TCP key equal to a data key would give an identical first ciphertext.
    const probe = Buffer.from('probe');
    const tcpFirst = hex(si.send.seal(probe));
    for (const k of seen) assert.notEqual(hex(aeadSeal(Buffer.from(k, 'hex'), newNonce(), 0, null, probe)), tcpFirst);
  });

  test('unencrypted sessions still have distinct keys but say encrypted=false', () => {
    const { si, sr } = sessions(null);
    assert.equal(si.dataKeys.encrypted, false);
    assert.equal(hex(si.dataKeys.keys(0).send), hex(sr.dataKeys.keys(0).recv));
  });

  test('sessions never share data keys', () => {
    const a = sessions().si.dataKeys.keys(0).send;
    const b = sessions().si.dataKeys.keys(0).send;
    assert.notEqual(hex(a), hex(b));
  });

  test('ratchet: forgetBefore wipes old keys; later keys unchanged; forgotten epochs refused', () => {
    const { si, sr } = sessions();
    const k2 = hex(si.dataKeys.keys(2).send);
    const k0 = si.dataKeys.keys(0).send;
    si.dataKeys.forgetBefore(2);
    assert.ok(k0.every((b) => b === 0), 'forgotten key buffer is zeroed');
    assert.equal(si.dataKeys.send.oldestEpoch, 2);
    assert.equal(hex(si.dataKeys.keys(2).send), k2);
    assert.throws(() => si.dataKeys.keys(1), (e) => isWeftError(e, 'WEFT_ERR_REPLAY'));
    // keys ahead of a forget are the same as derived without forgetting
    sr.dataKeys.forgetBefore(4);
    si.dataKeys.forgetBefore(4);
    assert.equal(hex(si.dataKeys.keys(5).send), hex(sr.dataKeys.keys(5).recv));
  });

  test('key() never moves the window (forged epochs are harmless); bounds are enforced', () => {
    const { si } = sessions();
    const k0 = hex(si.dataKeys.keys(0).recv);
    assert.throws(() => si.dataKeys.keys(DATA_KEY_EPOCH_SPAN), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
    assert.throws(() => si.dataKeys.keys(0xffff_ffff), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
    assert.throws(() => si.dataKeys.keys(-1), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
    assert.throws(() => si.dataKeys.keys(1.5), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
    assert.equal(hex(si.dataKeys.keys(0).recv), k0);
    assert.throws(() => si.dataKeys.forgetBefore(DATA_KEY_EPOCH_SPAN + 1), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
    si.dataKeys.forgetBefore(0); // no-op
    assert.equal(hex(si.dataKeys.keys(0).recv), k0);
  });

  test('directions retire independently', () => {
    const { si, sr } = sessions();
    si.dataKeys.send.forgetBefore(3);
    assert.equal(hex(si.dataKeys.send.key(3)), hex(sr.dataKeys.recv.key(3)));
    assert.equal(hex(si.dataKeys.recv.key(0)), hex(sr.dataKeys.send.key(0)));
    assert.throws(() => si.dataKeys.keys(0), (e) => isWeftError(e, 'WEFT_ERR_REPLAY'));
  });

  test('a long run of rotations stays in step on both sides', () => {
    const { si, sr } = sessions();
    for (let e = 0; e < 200; e++) {
      assert.equal(hex(si.dataKeys.send.key(e)), hex(sr.dataKeys.recv.key(e)));
      si.dataKeys.send.forgetBefore(e + 1);
      if (e > 0) sr.dataKeys.recv.forgetBefore(e); // receiver keeps the previous epoch
    }
  });

  test('destroy wipes everything and is idempotent; session.destroy covers all', () => {
    const { si } = sessions();
    const k = si.dataKeys.keys(1).send;
    si.destroy();
    si.destroy();
    assert.ok(k.every((b) => b === 0));
    assert.throws(() => si.dataKeys.keys(1), (e) => isWeftError(e, 'WEFT_ERR_CLOSED'));
    assert.throws(() => si.send.seal(Buffer.from('x')), (e) => isWeftError(e, 'WEFT_ERR_CLOSED'));
  });

  test('satisfies the mesh DataKeysLike contract', () => {
    const { si } = sessions();
    const dk: DataKeysLike = si.dataKeys;
    assert.ok(dk instanceof DataKeySchedule);
  });
});
