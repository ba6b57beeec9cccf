/**
 * PeersFile: the dialable addresses of the peers this daemon was last connected to, kept in
 * `<data dir>/peers.json` so a restarted daemon dials them at once instead of waiting for them
 * to redial it (their backoff can run for seconds). Written atomically (temporary file, fsync,
 * rename) and only when the set changes; never rewritten while the daemon shuts down (closing
 * connections must not erase it).
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, type Logger } from '../common/index.js';

/** File name inside the data dir. */
export const PEERS_FILE = 'peers.json';
/** At most this many addresses are remembered. */
const MAX_PEERS = 256;
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):\d{1,5}$/;

/**
 * Lifecycle: `load()` once at start (a missing or unreadable file reads as no peers; a bad one
 * is logged and ignored), then `update(addresses)` whenever connections change, `close()` at
 * shutdown (later updates are ignored). Writes are serialized; errors are logged, never thrown.
 */
export class PeersFile {
  private readonly path: string;
  private last = '';
  private closed = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(dataDir: string, private readonly log: Logger) {
    this.path = join(dataDir, PEERS_FILE);
  }

  /** The remembered addresses ("ip:port"). */
  async load(): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return [];
    }
    try {
      const j = JSON.parse(text) as { peers?: unknown };
      const list = Array.isArray(j.peers) ? j.peers.filter((p): p is string => typeof p === 'string' && ADDRESS.test(p)) : [];
      this.last = JSON.stringify([...new Set(list)].sort());
      return list.slice(0, MAX_PEERS);
    } catch (e) {
      this.log.warn({ file: this.path, err: describeError(e) }, 'ignoring an unreadable peers file');
      return [];
    }
  }

  /** Remember `addresses` (the established connections' dialable addresses). */
  update(addresses: readonly string[]): void {
    if (this.closed) return;
    const list = [...new Set(addresses.filter((a) => ADDRESS.test(a)))].sort().slice(0, MAX_PEERS);
    const key = JSON.stringify(list);
    if (key === this.last) return;
    this.last = key;
    this.writing = this.writing.then(() => this.write(list));
  }

  /** Stop writing (at shutdown); resolves when a write in flight is done. */
  close(): Promise<void> {
    this.closed = true;
    return this.writing;
  }

  private async write(list: string[]): Promise<void> {
    const tmp = `${this.path}.tmp`;
    try {
      const f = await open(tmp, 'w', 0o600);
      try {
        await f.writeFile(`${JSON.stringify({ peers: list })}\n`);
        await f.sync();
      } finally {
        await f.close();
      }
      await rename(tmp, this.path);
    } catch (e) {
      this.log.warn({ file: this.path, err: describeError(e) }, 'could not save the connected peers');
    }
  }
}
