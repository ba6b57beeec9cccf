/**
 * Parsing the bytes of a secret source into one or two secrets. Pure. Internal to src/crypto.
 *
 * Text (valid UTF-8 without NUL): one trailing "\n" / "\r\n" is stripped, then each line is a
 * secret (a trailing "\r" is dropped): line 1 is the one this host initiates with, line 2
 * (optional) is one more it accepts during a rotation. Anything else is one binary secret
 * (random bytes from `head -c 32 /dev/urandom` may contain newlines) with one trailing newline
 * stripped, as before.
 */
import { MAX_CLUSTER_SECRETS, WeftError } from '../common/index.js';
import type { KeyringSecret } from './keyring.js';
import { pskKdfFor } from './psk-kdf.js';

/** Below this many bytes a password is reported as weak (warning, not error). bytes */
const WEAK_SECRET_BYTES = 20;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Split `raw` into secrets (views into `raw`: the caller wipes it after deriving). Adds
 * warnings for short passwords. Throws WEFT_ERR_SECRET naming `where` and the line, never the
 * secret: empty, an empty line, or more than MAX_CLUSTER_SECRETS lines.
 */
export function parseSecretText(raw: Buffer, where: string, warnings: string[]): KeyringSecret[] {
  const body = stripOneNewline(raw);
  if (body.length === 0) throw new WeftError('WEFT_ERR_SECRET', `cluster secret from ${where} is empty`);
  if (!isText(body)) return [{ secret: body, kdf: pskKdfFor(body, false) }];
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i === body.length || body[i] === 0x0a) {
      let end = i;
      if (end > start && body[end - 1] === 0x0d) end--;
      lines.push(body.subarray(start, end));
      start = i + 1;
    }
  }
  if (lines.length > MAX_CLUSTER_SECRETS) {
    throw new WeftError('WEFT_ERR_SECRET',
      `cluster secret from ${where} has ${lines.length} lines; at most ${MAX_CLUSTER_SECRETS} (the secret to use, then one more to accept during a rotation)`);
  }
  return lines.map((line, i) => {
    if (line.length === 0) throw new WeftError('WEFT_ERR_SECRET', `cluster secret from ${where}: line ${i + 1} is empty`);
    const kdf = pskKdfFor(line, true);
    if (kdf === 'argon2id' && line.length < WEAK_SECRET_BYTES) {
      warnings.push(`cluster secret from ${where} (line ${i + 1}) is shorter than ${WEAK_SECRET_BYTES} bytes; a recorded handshake lets an attacker guess it offline (Argon2id slows each guess, but short passwords fall) — use 32 random bytes, e.g. openssl rand -hex 32`);
    }
    return { secret: line, kdf };
  });
}

function isText(b: Buffer): boolean {
  if (b.includes(0)) return false;
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** View of `b` without one trailing "\n" or "\r\n". */
function stripOneNewline(b: Buffer): Buffer {
  let end = b.length;
  if (end > 0 && b[end - 1] === 0x0a) {
    end--;
    if (end > 0 && b[end - 1] === 0x0d) end--;
  }
  return b.subarray(0, end);
}
