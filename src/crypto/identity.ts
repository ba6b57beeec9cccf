/**
 * Peer identity: a long-term X25519 key pair kept in the data directory, and the peer name
 * derived from its public key.
 *
 * Key file `<dataDir>/identity.key`, mode 0600, exactly 72 bytes:
 *   "weftid" (6 ASCII bytes) ‖ 0x00 ‖ version 0x01 ‖ secret key (32) ‖ public key (32)
 * On load the public key must equal X25519-base(secret key), so a corrupted file is refused
 * rather than silently yielding another identity.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { chmod, link, lstat, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { peerNameFromBytes, type PeerName } from '../net/index.js';
import { PEER_NAME_LABEL, WeftError, X25519_KEY_BYTES } from '../common/index.js';
import { equalConstantTime, generateKeyPair, hash, publicKeyOf, wipe } from './primitives.js';

/**
 * This daemon's long-term identity. `secretKey` never leaves the process and is never logged;
 * `name` is stable for as long as the key file is kept.
 */
export interface Identity {
  /** X25519 public key, 32 bytes. */
  readonly publicKey: Buffer;
  /** X25519 secret key, 32 bytes. */
  readonly secretKey: Buffer;
  /** Derived from publicKey by {@link peerNameFromPublicKey}. */
  readonly name: PeerName;
}

export const IDENTITY_FILE = 'identity.key';
const MAGIC = Buffer.from('weftid\x00\x01', 'latin1');
const FILE_BYTES = MAGIC.length + 2 * X25519_KEY_BYTES;
const NAME_LABEL = Buffer.from(PEER_NAME_LABEL, 'ascii');

/**
 * Peer name of a public key: the first 6 bytes of BLAKE2b-256(PEER_NAME_LABEL ‖ publicKey),
 * first byte `& 0xfe | 0x02` (unicast, locally administered — usable as a MAC address), printed
 * as lowercase hex pairs joined by ':' (e.g. "8e:1f:03:aa:42:90").
 */
export function peerNameFromPublicKey(publicKey: Buffer): PeerName {
  if (publicKey.length !== X25519_KEY_BYTES) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `public key must be ${X25519_KEY_BYTES} bytes, got ${publicKey.length}`);
  }
  const digest = hash([NAME_LABEL, publicKey], 32);
  digest[0] = (digest[0]! & 0xfe) | 0x02;
  return peerNameFromBytes(digest);
}

/** A fresh in-memory identity (nothing written): for tests and tools. */
export function generateIdentity(): Identity {
  const kp = generateKeyPair();
  return { ...kp, name: peerNameFromPublicKey(kp.publicKey) };
}

/**
 * Load `<dataDir>/identity.key`, creating the directory (mode 0700, recursive) and a fresh key
 * (mode 0600) if missing. Safe against two processes creating it at once (the loser loads the
 * winner's key). Throws WEFT_ERR_DATA_DIR when the directory or key file is unusable: not a
 * directory / regular file, writable by group or others, key file readable by group/others,
 * owned by another user, wrong size or format.
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<Identity> {
  await ensureDataDir(dataDir);
  const file = join(dataDir, IDENTITY_FILE);
  const existing = await readKeyFile(file);
  if (existing) return existing;
  await createKeyFile(file);
  const created = await readKeyFile(file);
  if (!created) throw new WeftError('WEFT_ERR_DATA_DIR', `identity key ${file} vanished right after it was created`);
  return created;
}

async function ensureDataDir(dir: string): Promise<void> {
  try {
    const made = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (made !== undefined) await chmod(dir, 0o700); // umask may have removed bits we want set
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new WeftError('WEFT_ERR_DATA_DIR', `data dir ${dir} is not a directory`);
    if ((st.mode & 0o022) !== 0) {
      throw new WeftError('WEFT_ERR_DATA_DIR',
        `data dir ${dir} is writable by group/others (mode ${octal(st.mode)}); run: chmod 700 ${dir}`);
    }
  } catch (e) {
    throw asDataDirError(e, `data dir ${dir} is unusable`);
  }
}

async function readKeyFile(file: string): Promise<Identity | null> {
  let fh;
  try {
    fh = await open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw asDataDirError(e, `cannot open identity key ${file}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new WeftError('WEFT_ERR_DATA_DIR', `identity key ${file} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw new WeftError('WEFT_ERR_DATA_DIR',
        `identity key ${file} is accessible by group/others (mode ${octal(st.mode)}); run: chmod 600 ${file}`);
    }
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new WeftError('WEFT_ERR_DATA_DIR', `identity key ${file} is owned by uid ${st.uid}, not by us (uid ${uid})`);
    }
    if (st.size !== FILE_BYTES) {
      throw new WeftError('WEFT_ERR_DATA_DIR',
        `identity key ${file} has ${st.size} bytes, expected ${FILE_BYTES}; move it away to create a new identity`);
    }
    const buf = Buffer.alloc(FILE_BYTES);
    const { bytesRead } = await fh.read(buf, 0, FILE_BYTES, 0);
    return parseKeyFile(buf, bytesRead, file);
  } catch (e) {
    throw asDataDirError(e, `cannot read identity key ${file}`);
  } finally {
    await fh.close();
  }
}

function parseKeyFile(buf: Buffer, bytesRead: number, file: string): Identity {
  try {
    if (bytesRead !== FILE_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new WeftError('WEFT_ERR_DATA_DIR', `identity key ${file} is not a weft v1 key file (bad header)`);
    }
    const secretKey = Buffer.from(buf.subarray(MAGIC.length, MAGIC.length + X25519_KEY_BYTES));
    const publicKey = Buffer.from(buf.subarray(MAGIC.length + X25519_KEY_BYTES));
    const derived = publicKeyOf(secretKey);
    if (!equalConstantTime(derived, publicKey)) {
      wipe(secretKey);
      throw new WeftError('WEFT_ERR_DATA_DIR', `identity key ${file} is corrupt (public key does not match secret key)`);
    }
    return { publicKey, secretKey, name: peerNameFromPublicKey(publicKey) };
  } finally {
    wipe(buf);
  }
}

async function createKeyFile(file: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const kp = generateKeyPair();
  const content = Buffer.concat([MAGIC, kp.secretKey, kp.publicKey]);
  try {
    const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      await fh.chmod(0o600);
      await fh.write(content, 0, content.length, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, file); // atomic, and fails if another process created the key first
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  } catch (e) {
    throw asDataDirError(e, `cannot create identity key ${file}`);
  } finally {
    wipe(content, kp.secretKey);
    await unlink(tmp).catch(() => undefined);
  }
}

function asDataDirError(e: unknown, what: string): WeftError {
  if (e instanceof WeftError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new WeftError('WEFT_ERR_DATA_DIR', `${what}: ${detail}`.replace(/\s+/g, ' '), { cause: e });
}

function octal(mode: number): string {
  return '0' + (mode & 0o777).toString(8);
}
