/**
 * Cluster secret (the `--password` of Weave): read from a file or the WEFT_PASSWORD environment
 * variable and turned into the 32-byte pre-shared key the handshake mixes in first.
 */
import { constants as fsc } from 'node:fs';
import { open } from 'node:fs/promises';
import { CLUSTER_PSK_LABEL, PASSWORD_ENV, WeftError } from '../common/index.js';
import { hash, wipe } from './primitives.js';

/** Below this many bytes a secret is reported as weak (warning, not error). bytes */
const WEAK_SECRET_BYTES = 20;
/** A password file larger than this is refused (it is surely the wrong file). bytes */
const MAX_SECRET_FILE_BYTES = 64 * 1024;
const PSK_LABEL = Buffer.from(CLUSTER_PSK_LABEL, 'ascii');

/**
 * Result of {@link loadClusterSecret}. `psk` is null when no secret is configured (the cluster
 * then runs unencrypted). `warnings` are one-line, secret-free strings the caller should log at
 * warn level (e.g. a password file readable by others, a short secret).
 */
export interface ClusterSecret {
  psk: Buffer | null;
  source: 'file' | 'env' | 'none';
  warnings: string[];
}

export interface ClusterSecretOptions {
  /** Path of a file holding the secret (one trailing newline is stripped). Wins over env. */
  passwordFile?: string;
  /** Environment to read WEFT_PASSWORD from (default: none — pass process.env explicitly). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Load the cluster secret and derive the PSK = BLAKE2b-256(CLUSTER_PSK_LABEL ‖ secret).
 * Throws WEFT_ERR_SECRET (one line, never containing the secret) when the file cannot be read,
 * is not a regular file, is too large, or the secret is empty. Intermediate copies of the secret
 * are wiped. Anyone holding a recorded message 1 can test password guesses offline against it,
 * so a short secret produces a warning; use a long random one (e.g. 32 random bytes, base64).
 */
export async function loadClusterSecret(opts: ClusterSecretOptions): Promise<ClusterSecret> {
  const warnings: string[] = [];
  let secret: Buffer;
  let source: ClusterSecret['source'];
  if (opts.passwordFile !== undefined) {
    secret = await readSecretFile(opts.passwordFile, warnings);
    source = 'file';
    if (opts.env?.[PASSWORD_ENV] !== undefined) {
      warnings.push(`both a password file and ${PASSWORD_ENV} are set; using the file ${opts.passwordFile}`);
    }
  } else if (opts.env?.[PASSWORD_ENV] !== undefined) {
    secret = Buffer.from(opts.env[PASSWORD_ENV]!, 'utf8');
    source = 'env';
  } else {
    return { psk: null, source: 'none', warnings };
  }
  try {
    const trimmed = stripOneNewline(secret);
    const where = source === 'file' ? `password file ${opts.passwordFile}` : `${PASSWORD_ENV}`;
    if (trimmed.length === 0) throw new WeftError('WEFT_ERR_SECRET', `cluster secret from ${where} is empty`);
    if (trimmed.length < WEAK_SECRET_BYTES) {
      warnings.push(`cluster secret from ${where} is shorter than ${WEAK_SECRET_BYTES} bytes; a recorded handshake lets an attacker guess it offline — use a long random secret`);
    }
    return { psk: hash([PSK_LABEL, trimmed], 32), source, warnings };
  } finally {
    wipe(secret);
  }
}

async function readSecretFile(path: string, warnings: string[]): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, fsc.O_RDONLY);
  } catch (e) {
    throw new WeftError('WEFT_ERR_SECRET', `cannot read password file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new WeftError('WEFT_ERR_SECRET', `password file ${path} is not a regular file`);
    if (st.size > MAX_SECRET_FILE_BYTES) {
      throw new WeftError('WEFT_ERR_SECRET', `password file ${path} is ${st.size} bytes (limit ${MAX_SECRET_FILE_BYTES}); is it the right file?`);
    }
    if ((st.mode & 0o044) !== 0) {
      warnings.push(`password file ${path} is readable by group/others (mode 0${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
    }
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(buf, 0, st.size, 0);
    return buf.subarray(0, bytesRead);
  } catch (e) {
    if (e instanceof WeftError) throw e;
    throw new WeftError('WEFT_ERR_SECRET', `cannot read password file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  } finally {
    await fh.close();
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
