/**
 * Cluster secret (the `--password` of Weave): read from a file, an inherited file descriptor or
 * the WEFT_PASSWORD environment variable and turned into the {@link ClusterKeyring} of PSKs the
 * handshake mixes in first. See DESIGN.md "Cluster secret".
 */
import { closeSync, constants as fsc, read } from 'node:fs';
import { open } from 'node:fs/promises';
import { PASSWORD_ENV, PROTOCOL_MAX_VERSION, WeftError } from '../common/index.js';
import { ClusterKeyring } from './keyring.js';
import { wipe } from './primitives.js';
import { parseSecretText } from './secret-text.js';

/** A password file larger than this is refused (it is surely the wrong file). bytes */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * Result of {@link loadClusterSecret}. `keyring` and `psk` are null when no secret is configured
 * (the cluster then runs unencrypted). `psk` is the keyring's initiating PSK at the highest
 * protocol version (for single-PSK callers). `warnings` are one-line, secret-free strings the
 * caller should log at warn level (e.g. a password file readable by others, a short secret).
 */
export interface ClusterSecret {
  keyring: ClusterKeyring | null;
  psk: Buffer | null;
  source: 'file' | 'fd' | 'env' | 'none';
  warnings: string[];
}

export interface ClusterSecretOptions {
  /** Path of a file holding the secret (or two: see DESIGN.md). Wins over fd and env. */
  passwordFile?: string;
  /** An inherited, readable file descriptor holding the secret; read to EOF, then closed. */
  passwordFd?: number;
  /** Environment to read WEFT_PASSWORD from (default: none — pass process.env explicitly). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Load the cluster secret(s) and derive the keyring (Argon2id per password; see psk-kdf.ts).
 * Throws WEFT_ERR_SECRET (one line, never containing the secret) when the source cannot be read,
 * is not a regular file, is too large, is empty, has an empty line or too many lines.
 * Intermediate copies of the secret are wiped.
 */
export async function loadClusterSecret(opts: ClusterSecretOptions): Promise<ClusterSecret> {
  const warnings: string[] = [];
  let raw: Buffer;
  let source: ClusterSecret['source'];
  let where: string;
  if (opts.passwordFile !== undefined) {
    raw = await readSecretFile(opts.passwordFile, warnings);
    source = 'file';
    where = `password file ${opts.passwordFile}`;
    if (opts.env?.[PASSWORD_ENV] !== undefined) {
      warnings.push(`both a password file and ${PASSWORD_ENV} are set; using the file ${opts.passwordFile}`);
    }
  } else if (opts.passwordFd !== undefined) {
    raw = await readSecretFd(opts.passwordFd);
    source = 'fd';
    where = `password file descriptor ${opts.passwordFd}`;
  } else if (opts.env?.[PASSWORD_ENV] !== undefined) {
    raw = Buffer.from(opts.env[PASSWORD_ENV]!, 'utf8');
    source = 'env';
    where = PASSWORD_ENV;
  } else {
    return { keyring: null, psk: null, source: 'none', warnings };
  }
  try {
    const secrets = parseSecretText(raw, where, warnings);
    const keyring = await ClusterKeyring.derive(secrets);
    return { keyring, psk: keyring.initiatePsk(PROTOCOL_MAX_VERSION), source, warnings };
  } finally {
    wipe(raw);
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

/** Read an inherited descriptor (a pipe from `weft launch`, or `3<file`) to EOF and close it. */
async function readSecretFd(fd: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const fail = (e: unknown): WeftError => (e instanceof WeftError ? e
    : new WeftError('WEFT_ERR_SECRET', `cannot read password file descriptor ${fd}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e }));
  try {
    for (;;) {
      const chunk = Buffer.alloc(4096);
      const n = await readAsync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      chunks.push(chunk.subarray(0, n));
      if (total > MAX_SECRET_FILE_BYTES) {
        throw new WeftError('WEFT_ERR_SECRET', `password file descriptor ${fd} holds over ${MAX_SECRET_FILE_BYTES} bytes; is it the right file?`);
      }
    }
    return Buffer.concat(chunks);
  } catch (e) {
    throw fail(e);
  } finally {
    wipe(...chunks);
    try { closeSync(fd); } catch { /* already closed */ }
  }
}

function readAsync(fd: number, buf: Buffer, off: number, len: number, pos: number | null): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))));
}
