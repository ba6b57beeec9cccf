import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The weft package version, read once from the package.json above this module. */
export function packageVersion(): string {
  if (cached) return cached;
  let url = new URL('./', import.meta.url);
  for (let depth = 0; depth < 6; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'weft' && pkg.version) return (cached = pkg.version);
    } catch {
      // not here; look one level up
    }
    url = new URL('../', url);
  }
  return (cached = 'unknown');
}
