/**
 * A new TCP connection every INTERVAL_MS, for measuring how fast a policy change reaches new
 * connections. Run inside a pod namespace:
 * `ip netns exec POD node connect-loop.js HOST PORT INTERVAL_MS TIMEOUT_MS`. Each attempt prints
 * one line `START_MS ok|fail` (wall-clock start; ok when a line starting with "ok " arrives
 * within TIMEOUT_MS, as policy-server.js sends). Runs until killed or stdin closes.
 */
import { connect } from 'node:net';

const [host, portArg, intervalArg, timeoutArg] = process.argv.slice(2);
const port = Number(portArg), interval = Number(intervalArg ?? '10'), timeout = Number(timeoutArg ?? '300');
if (!host || !Number.isInteger(port) || !(interval >= 1) || !(timeout >= 10)) {
  console.error('usage: connect-loop HOST PORT INTERVAL_MS TIMEOUT_MS');
  process.exit(2);
}
setInterval(() => {
  const start = Date.now();
  const s = connect({ host, port });
  let answer = '';
  let done = false;
  const finish = (ok: boolean): void => {
    if (done) return;
    done = true;
    clearTimeout(t);
    s.destroy();
    process.stdout.write(`${start} ${ok ? 'ok' : 'fail'}\n`);
  };
  const t = setTimeout(() => finish(false), timeout);
  s.setEncoding('utf8');
  s.on('data', (d: string) => { answer += d; if (answer.includes('\n')) finish(answer.startsWith('ok ')); });
  s.on('error', () => finish(false));
  s.on('close', () => finish(answer.startsWith('ok ')));
}, interval);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
