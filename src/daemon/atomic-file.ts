import { open, rename } from 'node:fs/promises';
import { describeError, type Logger } from '../common/index.js';

/**
 * Replace `path` with `text` atomically: a temporary file beside it (mode 0600), fsync, rename.
 * A crash leaves the old file or the new one, never a torn one. Throws the fs error.
 */
export async function writeFileAtomic(path: string, text: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const f = await open(tmp, 'w', 0o600);
  try {
    await f.writeFile(text);
    await f.sync();
  } finally {
    await f.close();
  }
  await rename(tmp, path);
}

/**
 * Saves replicated state (the policy store, the workload view, the DNS records) to files in the
 * data dir: writes are serialised and coalesced per file (a queued write takes the content when
 * it runs), each one atomic; a failed write is logged, never thrown. Lifecycle: `save` after every
 * change; `close()` at stop (later saves are ignored) resolves when the last write is done.
 */
export class StateWriter {
  private writing: Promise<void> = Promise.resolve();
  private readonly queued = new Set<string>();
  private closed = false;

  constructor(private readonly log: Logger, private readonly what: string) {}

  save(path: string, content: () => string | Buffer): void {
    if (this.closed || this.queued.has(path)) return;
    this.queued.add(path);
    this.writing = this.writing.then(() => {
      this.queued.delete(path);
      return writeFileAtomic(path, content());
    }).catch((e: unknown) => {
      this.log.warn({ file: path, err: describeError(e) }, `${this.what}: could not save`);
    });
  }

  /** Resolves when every save so far is on disk (or failed and was logged). */
  flushed(): Promise<void> {
    return this.writing;
  }

  close(): Promise<void> {
    this.closed = true;
    return this.writing;
  }
}
