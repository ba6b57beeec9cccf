import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { UI_ASSET_MAX_BYTES, UI_ASSET_MAX_FILES } from '../common/index.js';

/** One file of the web page, ready to send. */
export interface UiAsset {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** File names the page may have: flat, lower-case, a known type. Anything else is never served. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * Headers of every page reply: nothing but our own files may load or be fetched (no CDN, no
 * inline script), the page cannot be framed, and no referrer leaves it.
 */
export const UI_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

/**
 * The web page's files (`ui/` of the package), read once into memory by {@link loadUiAssets}:
 * only the flat files of known types in that directory exist for the listener, so no request
 * path can name anything else (no traversal, no directory listing, no symlink outside).
 */
export class UiAssets {
  constructor(private readonly files: ReadonlyMap<string, UiAsset>, readonly dir: string) {}

  /** The file for a name under `/ui/` ('' is index.html), or undefined. */
  get(name: string): UiAsset | undefined {
    return this.files.get(name === '' ? 'index.html' : name);
  }

  names(): string[] {
    return [...this.files.keys()].sort();
  }
}

/**
 * Read the page's files from `dir`. Rejects (an Error naming the directory) when it cannot be
 * read, has no index.html, or holds more than UI_ASSET_MAX_FILES files or a file over
 * UI_ASSET_MAX_BYTES — a broken package, reported at start rather than as a blank page.
 */
export async function loadUiAssets(dir: string): Promise<UiAssets> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = new Map<string, UiAsset>();
  for (const e of entries) {
    const type = TYPES[extname(e.name)];
    if (!e.isFile() || !type || !NAME.test(e.name)) continue;
    if (files.size >= UI_ASSET_MAX_FILES) throw new Error(`${dir}: more than ${UI_ASSET_MAX_FILES} web page files`);
    const body = await readFile(join(dir, e.name));
    if (body.length > UI_ASSET_MAX_BYTES) throw new Error(`${join(dir, e.name)}: over ${UI_ASSET_MAX_BYTES} bytes`);
    files.set(e.name, { type, body });
  }
  if (!files.has('index.html')) throw new Error(`${dir}: no index.html`);
  return new UiAssets(files, dir);
}
