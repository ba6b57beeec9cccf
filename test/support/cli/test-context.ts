import type { CliContext, RunDaemon } from '../../../src/cli/command.js';

/** A CliContext that records output lines (test helper). */
export interface CapturedContext extends CliContext {
  stdout: string[];
  stderr: string[];
}

export function testContext(overrides: Partial<CliContext> = {}): CapturedContext {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const noDaemon: RunDaemon = async () => { throw new Error('no daemon in this test'); };
  return {
    stdout, stderr,
    out: (line) => { stdout.push(line); },
    err: (line) => { stderr.push(line); },
    env: {},
    cwd: '/work',
    hostname: 'testhost',
    loadDaemon: async () => noDaemon,
    selfScript: '/nonexistent/weft.js',
    ...overrides,
  };
}
