/**
 * CNI recording shim. A runtime calls it as a plugin (through a two-line wrapper script named
 * like the plugin type in a scratch CNI_PATH directory, see record-runtime.ts); it runs the
 * delegate plugin with the same environment and stdin, passes its stdout and exit code back
 * unchanged, and appends one JSON line {t, CNI_*, rc, stdin, stdout} to the log, which is how
 * test/fixtures/cni/*.jsonl were recorded.
 *   node spy-plugin.js LOG_FILE DELEGATE_PLUGIN
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';

const [log, delegate] = process.argv.slice(2);
if (!log || !delegate) {
  process.stderr.write('usage: spy-plugin LOG_FILE DELEGATE_PLUGIN\n');
  process.exit(2);
}
const stdin = readFileSync(0);
const r = spawnSync(delegate, [], { input: stdin, env: process.env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
const stdout = r.stdout?.toString('utf8') ?? '';
const rc = r.status ?? 1;
const parse = (s: string): unknown => {
  if (s.trim() === '') return null;
  try { return JSON.parse(s); } catch { return s; }
};
const env = process.env;
appendFileSync(log, `${JSON.stringify({
  t: (Date.now() / 1000).toFixed(6),
  CNI_COMMAND: env['CNI_COMMAND'] ?? '', CNI_CONTAINERID: env['CNI_CONTAINERID'] ?? '', CNI_NETNS: env['CNI_NETNS'] ?? '',
  CNI_IFNAME: env['CNI_IFNAME'] ?? '', CNI_ARGS: env['CNI_ARGS'] ?? '', CNI_PATH: env['CNI_PATH'] ?? '',
  rc, stdin: parse(stdin.toString('utf8')), stdout: parse(stdout),
})}\n`);
process.stdout.write(stdout);
if (r.stderr) process.stderr.write(r.stderr);
process.exitCode = rc;
