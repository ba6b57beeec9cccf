import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { WeftError, PASSWORD_ENV } from '../../common/index.js';
import type { DaemonConfig } from '../../daemon/index.js';
import type { CliContext } from '../command.js';

/**
 * File-system checks of a launch config, done before anything is started: the password file
 * must be a readable, non-empty regular file (a warning is printed when group/others can read
 * it), it (or --password-fd) must not be combined with $WEFT_PASSWORD, $WEFT_PASSWORD must not
 * be empty, and an existing data dir must be a directory.
 */
export function checkLaunchFiles(config: DaemonConfig, ctx: CliContext): void {
  const pf = config.passwordFile;
  if (config.passwordFd !== undefined && ctx.env[PASSWORD_ENV] !== undefined) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `both --password-fd and ${PASSWORD_ENV} are set; use one`);
  }
  if (pf === undefined && ctx.env[PASSWORD_ENV] === '') throw new WeftError('WEFT_ERR_SECRET', `${PASSWORD_ENV} is set but empty`);
  if (pf !== undefined) {
    if (ctx.env[PASSWORD_ENV] !== undefined) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `both --password-file and ${PASSWORD_ENV} are set; use one`);
    }
    const cannot = (why: string): WeftError => new WeftError('WEFT_ERR_SECRET', `cannot read --password-file "${pf}": ${why}`);
    const st = statOrNull(pf, cannot);
    if (!st) throw cannot('no such file');
    if (!st.isFile()) throw cannot('not a regular file');
    try {
      accessSync(pf, constants.R_OK);
    } catch {
      throw cannot('permission denied');
    }
    if (st.size === 0) throw cannot('the file is empty');
    if ((st.mode & 0o077) !== 0) {
      ctx.err(`weft: warning: --password-file "${pf}" is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
  }
  const dd = statOrNull(config.dataDir, (why) => new WeftError('WEFT_ERR_DATA_DIR', `cannot use --data-dir "${config.dataDir}": ${why}`));
  if (dd && !dd.isDirectory()) throw new WeftError('WEFT_ERR_DATA_DIR', `invalid --data-dir "${config.dataDir}": not a directory`);
}

function statOrNull(path: string, fail: (why: string) => WeftError): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw fail(code === 'EACCES' ? 'permission denied' : String(code ?? e));
  }
}
