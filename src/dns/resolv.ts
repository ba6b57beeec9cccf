/**
 * The host's upstream resolvers, as /etc/resolv.conf names them (`nameserver ADDR` lines; the
 * port is always 53 there). Pure: the daemon reads the file and hands the text in.
 */
import { DNS_PORT } from '../common/index.js';
import { formatIp, parseIp } from '../net/index.js';

/** One upstream resolver. */
export interface Upstream {
  readonly host: string;
  readonly port: number;
}

/** Every `nameserver` of a resolv.conf text, in order, without duplicates; bad lines are skipped. */
export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const ip = parseIp(m[1]!.replace(/%.*$/, ''));
    if (!ip) continue;
    const host = formatIp(ip);
    if (!out.some((u) => u.host === host)) out.push({ host, port: DNS_PORT });
  }
  return out;
}
