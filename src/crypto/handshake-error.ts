/**
 * The error every handshake failure is thrown as. It is a {@link WeftError} (code
 * WEFT_ERR_HANDSHAKE, or WEFT_ERR_REPLAY for replay/clock refusals) with a `reason` the mesh can
 * map to its `weft_handshakes_total{result}` label without parsing the message.
 */
import { WeftError, type WeftErrorCode } from '../common/index.js';

/**
 * Why a handshake failed:
 * - `bad_secret`: message 1 did not authenticate — the initiator lacks our cluster secret.
 * - `auth`: message 2 or 3 did not authenticate — different secret, wrong prologue, or tampering.
 * - `malformed`: wrong length / too big / unparsable before any crypto was attempted.
 * - `bad_key`: the peer sent a low-order (invalid) X25519 public key.
 * - `replay`: message 1's ephemeral key was seen before (code WEFT_ERR_REPLAY).
 * - `clock`: message 1's timestamp is outside now ± HANDSHAKE_CLOCK_WINDOW_MS (code WEFT_ERR_REPLAY).
 * - `unanswered`: (mesh, initiator) the peer closed without answering message 1 — what a
 *   responder that refuses our secret does, since it sends nothing back.
 * - `state`: API misuse (not our turn, already failed/complete/split).
 * - `internal`: an unexpected error inside the crypto library (a bug; reported, never swallowed).
 */
export type HandshakeFailureReason =
  | 'bad_secret' | 'auth' | 'malformed' | 'bad_key' | 'replay' | 'clock' | 'unanswered' | 'state' | 'internal';

/** A handshake failure with a machine-readable reason. Message: one line a person can act on. */
export class HandshakeError extends WeftError {
  readonly reason: HandshakeFailureReason;
  constructor(reason: HandshakeFailureReason, message: string, options?: { cause?: unknown }) {
    const code: WeftErrorCode = reason === 'replay' || reason === 'clock' ? 'WEFT_ERR_REPLAY' : 'WEFT_ERR_HANDSHAKE';
    super(code, message, options);
    this.reason = reason;
    this.name = 'HandshakeError';
  }
}
