import { readFileSync } from 'node:fs';

import { fileURLToPath } from 'node:url';

let found: { root: string | null; version: string } | undefined;

/** The package.json named weft above this module (the checkout or the installed package). */
function findPackage(): { root: string | null; version: string } {
  if (found) return found;
  let url = new URL('./', import.meta.url);
  for (let depth = 0; depth < 6; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'weft' && pkg.version) return (found = { root: fileURLToPath(url), version: pkg.version });
    } catch {
      // not here; look one level up
    }
    url = new URL('../', url);
  }
  return (found = { root: null, version: 'unknown' });
}

/** The weft package version, read once from the package.json above this module. */
export function packageVersion(): string {
  return findPackage().version;
}

/**
 * The weft package's root directory (where its package.json is, with a trailing slash): the
 * checkout, or the installed package. Files shipped beside the code (the web page's `ui/`) are
 * found from here. Null when no weft package.json is above this module.
 */
export function packageRoot(): string | null {
  return findPackage().root;
}
