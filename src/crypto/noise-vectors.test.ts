/**
 * Checks the Noise engine against published test vectors (the Cacophony vector set, as shipped
 * with several Noise implementations) for the suite we use. No XXpsk0 vector exists for this
 * suite, so XX (tokens e/s/ee/es/se, split, transport) and NNpsk0 (psk0 modifier: psk first,
 * MixKey on e) together cover every step XXpsk0 takes. Also cross-checks HMAC-BLAKE2b against
 * Node's OpenSSL implementation.
 */
import { createHmac, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CipherState } from './cipher-state.js';
import { NoiseHandshakeState, type Token } from './noise-handshake-state.js';
import { hmac, publicKeyOf } from './primitives.js';

interface Vector {
  name: string;
  pattern: Token[][];
  prologue: string;
  psk?: string;
  initStatic?: string;
  initEphemeral: string;
  respStatic?: string;
  respEphemeral: string;
  handshakeHash: string;
  messages: Array<{ payload: string; ciphertext: string }>;
}

const VECTORS: Vector[] = [
  {
    name: 'Noise_XX_25519_ChaChaPoly_BLAKE2b',
    pattern: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']],
    prologue: '4a6f686e2047616c74',
    initStatic: 'e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1',
    initEphemeral: '893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a',
    respStatic: '4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893',
    respEphemeral: 'bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b',
    handshakeHash: '8cf47d7b3cb5804c0109d48e8bcdbee2cbb65687d8ea2c92994ca361fb86151ad93627b98936cbb32de56e8abb21def3925011ac3e35db9cbeea73ab9a4392c2',
    messages: [
      { payload: '4c756477696720766f6e204d69736573', ciphertext: 'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d69736573' },
      { payload: '4d757272617920526f746862617264', ciphertext: '95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088430505b6745ce64a5f33f0e8e3b83f11ce8802bca507f4f2d8b564dbe277e1966116e132faa2dfd70b8b077b9f94b913df5056ae1319469b824a98d54bbaa82c325595587064f978c4b6d104f7596e6f' },
      { payload: '462e20412e20486179656b', ciphertext: '99579e1c1ee15e422a57ddd6b16d37087b17558e8369c18991b4b2ca3a824abf904cdcf5458b5431a75af034ca9e9b982de039eaaf156775e2d580cd4e5ebae89c3f8cb2594b556d8a8169' },
      { payload: '4361726c204d656e676572', ciphertext: 'fc56eea290b3f3a21aac0c70cd5787b5ee99be37d2f4d751329b55' },
      { payload: '4a65616e2d426170746973746520536179', ciphertext: 'bb31c9da10d5639a4cdb88a12f5c61de41bbc7df09bf75d94f8184fe4157f5c68f' },
      { payload: '457567656e2042f6686d20766f6e2042617765726b', ciphertext: 'f6199cadb152fb27f82be0a0891ec76a33598ae92a46cab2fb5a8ed5bf48b7f267f8370af7' },
    ],
  },
  {
    name: 'Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b',
    pattern: [['psk', 'e'], ['e', 'ee']],
    prologue: '4a6f686e2047616c74',
    psk: '54686973206973206d7920417573747269616e20706572737065637469766521',
    initEphemeral: '893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a',
    respEphemeral: 'bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b',
    handshakeHash: 'ed5e9692d0ab507b6c2beec3f584fd5b127817a9d20b26cd50aa72c507260fa31aa7d88dd3723316338af37ce0b4cfb2923aeb848bbf2b934911306f01ffc963',
    messages: [
      { payload: '4c756477696720766f6e204d69736573', ciphertext: 'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944ed63df2f5a12aee1185ee9c50305f2ecf12421dcb53c047a63b784cf7c54a105' },
      { payload: '4d757272617920526f746862617264', ciphertext: '95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088430e0fe7d5c0c9b92f7478716c8852f1b4f389edb75e3ebe546fafafd5b6f0f7' },
      { payload: '462e20412e20486179656b', ciphertext: '0fe04b26dcfbb69f8a6a94c61f1a26ef88769218d32f5d17c068a6' },
      { payload: '4361726c204d656e676572', ciphertext: '2239e0c540c01f09eb1f4cc5258fd5acfefff18a5a3773f21b7bfe' },
      { payload: '4a65616e2d426170746973746520536179', ciphertext: 'f216cb03d30fb8af1e561fe02a07552d09b416e27a75e62c77d193718b0bdaae9f' },
      { payload: '457567656e2042f6686d20766f6e2042617765726b', ciphertext: '6e8baf98b944184dd7dc5ef14d8108cbeca626de118a5460f3308e294d61e17238bce29bd9' },
    ],
  },
];

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const keyPair = (sk: string) => ({ secretKey: hex(sk), publicKey: publicKeyOf(hex(sk)) });

for (const v of VECTORS) {
  test(`Noise test vector ${v.name}`, () => {
    const common = { protocolName: v.name, messages: v.pattern, prologue: hex(v.prologue), psk: v.psk ? hex(v.psk) : undefined };
    const init = new NoiseHandshakeState({ ...common, initiator: true, s: v.initStatic ? keyPair(v.initStatic) : undefined, e: keyPair(v.initEphemeral) });
    const resp = new NoiseHandshakeState({ ...common, initiator: false, s: v.respStatic ? keyPair(v.respStatic) : undefined, e: keyPair(v.respEphemeral) });
    const hsCount = v.pattern.length;
    for (let i = 0; i < hsCount; i++) {
      const [w, r] = i % 2 === 0 ? [init, resp] : [resp, init];
      const m = v.messages[i]!;
      const ct = w.writeMessage(hex(m.payload));
      assert.equal(ct.toString('hex'), m.ciphertext, `handshake message ${i + 1}`);
      assert.equal(r.readMessage(ct).toString('hex'), m.payload);
    }
    assert.ok(init.finished && resp.finished);
    assert.equal(init.symmetric.handshakeHash().toString('hex'), v.handshakeHash);
    assert.equal(resp.symmetric.handshakeHash().toString('hex'), v.handshakeHash);
    const [i1, i2] = init.split();
    const [r1, r2] = resp.split();
    const iSend = new CipherState(i1), iRecv = new CipherState(i2);
    const rSend = new CipherState(r2), rRecv = new CipherState(r1);
    // After the handshake the vectors keep alternating senders, starting with the initiator.
    for (let i = hsCount; i < v.messages.length; i++) {
      const m = v.messages[i]!;
      const [send, recv] = i % 2 === 0 ? [iSend, rRecv] : [rSend, iRecv];
      const ct = send.seal(hex(m.payload));
      assert.equal(ct.toString('hex'), m.ciphertext, `transport message ${i + 1}`);
      assert.equal(recv.open(ct).toString('hex'), m.payload);
    }
  });
}

test('HMAC-BLAKE2b matches OpenSSL for short, block-sized and long keys', () => {
  for (const keyLen of [0, 1, 32, 64, 127, 128, 129, 300]) {
    for (const dataLen of [0, 1, 128, 1000]) {
      const key = randomBytes(keyLen);
      const data = randomBytes(dataLen);
      const ours = hmac(key, [data.subarray(0, 7), data.subarray(7)]);
      const ref = createHmac('blake2b512', key).update(data).digest();
      assert.equal(ours.toString('hex'), ref.toString('hex'), `key ${keyLen} data ${dataLen}`);
    }
  }
});
