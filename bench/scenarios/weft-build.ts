import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WeftError } from '../../src/common/index.js';

/**
 * Which weft build a weft row runs: this checkout's, or another built checkout's (`--baseline-build
 * DIR`), so that a change can be measured against the code before it in the same run.
 */
export interface WeftBuild {
  /** Path of the build's `dist/cmd/weft.js`. */
  cli: string;
  /** Appended to the row name ("" for this build, "@base" for the baseline build). */
  suffix: string;
  /** Prepended to the row description. */
  label: string;
}

/** This checkout's build. */
export const THIS_BUILD: WeftBuild = { cli: fileURLToPath(new URL('../../cmd/weft.js', import.meta.url)), suffix: '', label: '' };

/** Another checkout, built with `npm ci`; throws WEFT_ERR_BAD_ARGS when it has no built CLI. */
export function baselineBuild(dir: string): WeftBuild {
  const cli = join(resolve(dir), 'dist', 'cmd', 'weft.js');
  if (!existsSync(cli)) throw new WeftError('WEFT_ERR_BAD_ARGS', `--baseline-build ${dir}: no ${cli} (run npm ci there first)`);
  return { cli, suffix: '@base', label: `baseline build ${dir}: ` };
}
