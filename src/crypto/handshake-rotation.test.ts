import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Handshake, HandshakeError, HandshakeReplayCache, generateIdentity } from './index.js';

const PROLOGUE = Buffer.from('weft\x02\x02weft\x02\x02', 'latin1');
const A = Buffer.alloc(32, 0xa1);
const B = Buffer.alloc(32, 0xb2);
const C = Buffer.alloc(32, 0xc3);

function exchange(initPsk: Buffer, respPsk: Buffer, alsoAccept: Buffer[]): { resp: Handshake; ok: boolean } {
  const init = new Handshake({ role: 'initiator', identity: generateIdentity(), psk: initPsk, prologue: PROLOGUE });
  const resp = new Handshake({ role: 'responder', identity: generateIdentity(), psk: respPsk, alsoAccept, prologue: PROLOGUE, replayCache: new HandshakeReplayCache() });
  try {
    resp.readMessage(init.writeMessage());
  } catch (e) {
    assert.ok(e instanceof HandshakeError && e.reason === 'bad_secret', String(e));
    return { resp, ok: false };
  }
  assert.deepEqual(init.readMessage(resp.writeMessage(Buffer.from('r'))), Buffer.from('r'));
  assert.deepEqual(resp.readMessage(init.writeMessage(Buffer.from('i'))), Buffer.from('i'));
  const si = init.split();
  const sr = resp.split();
  assert.deepEqual(sr.recv.open(si.send.seal(Buffer.from('after'))), Buffer.from('after'));
  return { resp, ok: true };
}

describe('handshake: a responder accepting two secrets (rotation)', () => {
  test('accepts an initiator using either secret and says which one it used', () => {
    const first = exchange(A, A, [B]);
    assert.equal(first.ok, true);
    assert.equal(first.resp.acceptedPskIndex, 0);
    const second = exchange(B, A, [B]);
    assert.equal(second.ok, true);
    assert.equal(second.resp.acceptedPskIndex, 1);
  });

  test('refuses a secret it does not hold, as bad_secret, and the failed handshake is dead', () => {
    const r = exchange(C, A, [B]);
    assert.equal(r.ok, false);
    assert.throws(() => r.resp.writeMessage(), (e) => e instanceof HandshakeError && e.reason === 'state');
  });

  test('a replayed message 1 is refused under the second secret too', () => {
    const cache = new HandshakeReplayCache();
    const init = new Handshake({ role: 'initiator', identity: generateIdentity(), psk: B, prologue: PROLOGUE });
    const m1 = init.writeMessage();
    const respond = () => new Handshake({ role: 'responder', identity: generateIdentity(), psk: A, alsoAccept: [B], prologue: PROLOGUE, replayCache: cache }).readMessage(m1);
    respond();
    assert.throws(respond, (e) => e instanceof HandshakeError && e.reason === 'replay');
  });

  test('a malformed message 1 fails as malformed, not as a secret mismatch', () => {
    const resp = new Handshake({ role: 'responder', identity: generateIdentity(), psk: A, alsoAccept: [B], prologue: PROLOGUE });
    assert.throws(() => resp.readMessage(Buffer.alloc(59)), (e) => e instanceof HandshakeError && e.reason === 'malformed');
  });

  test('alsoAccept is ignored by an initiator and checked for length', () => {
    assert.throws(() => new Handshake({ role: 'responder', identity: generateIdentity(), psk: A, alsoAccept: [Buffer.alloc(31)], prologue: PROLOGUE }),
      (e) => e instanceof Error && /32 bytes/.test(e.message));
    const init = new Handshake({ role: 'initiator', identity: generateIdentity(), psk: A, alsoAccept: [B], prologue: PROLOGUE });
    const resp = new Handshake({ role: 'responder', identity: generateIdentity(), psk: B, prologue: PROLOGUE });
    assert.throws(() => resp.readMessage(init.writeMessage()), (e) => e instanceof HandshakeError && e.reason === 'bad_secret');
  });
});
