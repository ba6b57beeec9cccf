import { open, rename } from 'node:fs/promises';

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
