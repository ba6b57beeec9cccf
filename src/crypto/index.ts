/**
 * Crypto: peer identity, cluster secret, the Noise XXpsk0 handshake, session ciphers for the
 * TCP control channel, the data-plane key schedule and the anti-replay window.
 * Everything outside src/crypto imports from here only. Design notes: src/crypto/DESIGN.md.
 *
 * Typical use (mesh, per connection):
 *   const hs = new Handshake({ role, identity, psk, prologue: preludes, replayCache });
 *   initiator: send(hs.writeMessage()); hs.readMessage(m2) → hello; send(hs.writeMessage(myHello))
 *   responder: hs.readMessage(m1); send(hs.writeMessage(myHello)); hs.readMessage(m3) → hello
 *   const session = hs.split();   // session.send/recv for TCP, session.dataKeys for the overlay
 */
export { type Identity, loadOrCreateIdentity, generateIdentity, peerNameFromPublicKey, IDENTITY_FILE } from './identity.js';
export { type ClusterSecret, type ClusterSecretOptions, loadClusterSecret } from './secret.js';
export { ClusterKeyring, type KeyringSecret } from './keyring.js';
export { type PskKdf } from './psk-kdf.js';
export { Handshake, type HandshakeOptions, type HandshakeRole, type Session } from './handshake.js';
export { HandshakeError, type HandshakeFailureReason } from './handshake-error.js';
export { HandshakeReplayCache } from './replay-cache.js';
export { CipherState } from './cipher-state.js';
export { DataKeySchedule, EpochKeyChain } from './data-keys.js';
export { ReplayWindow } from './replay-window.js';
