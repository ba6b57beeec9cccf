/**
 * DNS helpers shared by the DNS integration test and the DNS bench: a real dnsmasq (Debian's
 * dnsmasq-base) as the upstream resolver in a namespace of its own, dig queries from a pod, and
 * raw datagrams for the malformed-message checks.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, type Lab } from './lab.js';
import { waitFor } from './wait.js';

/** The fixture zone dnsmasq serves: an A record and a TXT record too big for 512-byte UDP. */
export const FIXTURE = {
  name: 'fixture.test',
  address: '192.0.2.77',
  bigTxt: 'big.test',
  /** Prefix of the 12 TXT records of big.test (about 1.5 KB together). */
  txtMarker: 'weft-dns-fixture-',
} as const;

/** Start dnsmasq in namespace `ns`, listening on `addr`:53 (UDP and TCP), serving only FIXTURE. Killed by lab.destroy(). */
export async function startDnsmasq(lab: Lab, ns: string, addr: string): Promise<void> {
  const strings = Array.from({ length: 12 }, (_, i) => `${FIXTURE.txtMarker}${String(i).padStart(2, '0')}-${'x'.repeat(100)}`);
  const conf = join(lab.dir, `dnsmasq-${ns}.conf`);
  writeFileSync(conf, [
    'no-resolv', 'no-hosts', 'no-poll', 'bind-interfaces', `listen-address=${addr}`, 'port=53', 'cache-size=0',
    `address=/${FIXTURE.name}/${FIXTURE.address}`,
    ...strings.map((s) => `txt-record=${FIXTURE.bigTxt},"${s}"`), // one record each (dnsmasq's lines are short)
    `pid-file=${join(lab.dir, `dnsmasq-${ns}.pid`)}`,
    '',
  ].join('\n'));
  lab.track(spawn('ip', ['netns', 'exec', ns, 'dnsmasq', '--keep-in-foreground', '--conf-file=' + conf, '--log-facility=-'],
    { stdio: 'ignore' }));
  await waitFor(() => dig(ns, addr, FIXTURE.name).includes(FIXTURE.address), { timeoutMs: 10_000, intervalMs: 100, what: 'dnsmasq answering' });
}

/** `dig @server name [type]` from namespace `ns`, short output (empty on failure); extra dig flags in `flags`. */
export function dig(ns: string, server: string, name: string, type = 'A', flags: string[] = ['+short']): string {
  return sh('ip', ['netns', 'exec', ns, 'dig', `@${server}`, '+time=2', '+tries=1', ...flags, name, type],
    { allowFail: true, timeoutMs: 10_000 }).trim();
}

/** The answer's status (NOERROR, NXDOMAIN, …) as dig prints it, or '' when no answer came. */
export function digStatus(ns: string, server: string, name: string): string {
  const out = dig(ns, server, name, 'A', ['+noall', '+comments']);
  return /status: ([A-Z]+)/.exec(out)?.[1] ?? '';
}

/** Send raw datagrams to server:53 from namespace `ns` (each a hex string) and wait for what comes back (count of replies). */
export function sendRaw(ns: string, server: string, hexes: string[]): number {
  const script = `
const d = require('node:dgram').createSocket('udp4'); let n = 0;
d.on('message', () => n++);
d.bind(0, () => { for (const h of ${JSON.stringify(hexes)}) d.send(Buffer.from(h, 'hex'), 53, ${JSON.stringify(server)}); });
setTimeout(() => { console.log(n); d.close(); }, 1500);`;
  return Number(sh('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { timeoutMs: 10_000 }).trim());
}
