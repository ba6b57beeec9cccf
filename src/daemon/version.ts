import { readFileSync } from 'node:fs';

let cached: string | null = null;
/** The weft package version (from package.json next to dist/). */
export function packageVersion(): string {
  if (cached) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    cached = pkg.version;
  } catch {
    cached = '0.0.0-unknown';
  }
  return cached;
}
