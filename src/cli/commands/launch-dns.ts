import { DNS_PORT } from '../../common/index.js';
import { parseHostPort } from '../../api/index.js';
import type { DaemonConfig } from '../../daemon/index.js';
import { dnsNameProblem, normalizeName } from '../../dns/index.js';
import { isIp } from '../../net/index.js';
import { invalid } from '../args.js';

/** `weft launch` flags of service discovery (docs/dns.md). */
export const DNS_LAUNCH_OPTIONS = {
  'no-dns': { type: 'boolean' },
  'dns-domain': { type: 'string' },
  'dns-upstream': { type: 'string', multiple: true },
} as const;

/** Most upstream resolvers `--dns-upstream` may name. count */
const MAX_UPSTREAMS = 8;

/**
 * `--no-dns`, `--dns-domain NAME` (default weft.local), `--dns-upstream ADDR[:PORT]` (repeatable
 * or comma-separated; IP addresses only, IPv6 in brackets with a port; default: the nameservers
 * of /etc/resolv.conf). Only non-defaults are set.
 */
export function parseDnsFlags(v: { 'no-dns'?: boolean; 'dns-domain'?: string; 'dns-upstream'?: string[] }):
  Pick<DaemonConfig, 'dns' | 'dnsDomain' | 'dnsUpstreams'> {
  const out: ReturnType<typeof parseDnsFlags> = {};
  if (v['no-dns'] === true) out.dns = false;
  const domain = v['dns-domain'];
  if (domain !== undefined) {
    const d = normalizeName(domain);
    const p = dnsNameProblem(d);
    if (p) throw invalid('--dns-domain', domain, p);
    out.dnsDomain = d;
  }
  const ups = (v['dns-upstream'] ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (ups.length > MAX_UPSTREAMS) throw invalid('--dns-upstream', ups.join(','), `at most ${MAX_UPSTREAMS} resolvers`);
  if (ups.length > 0) {
    out.dnsUpstreams = ups.map((text) => {
      const hp = isIp(text, 6) ? { host: text } : parseHostPort(text, { what: '--dns-upstream' });
      if (!isIp(hp.host)) throw invalid('--dns-upstream', text, 'must be an IP address (with an optional :port)');
      return { host: hp.host, port: hp.port ?? DNS_PORT };
    });
  }
  if (out.dns === false && (out.dnsDomain !== undefined || out.dnsUpstreams !== undefined)) {
    throw invalid('--no-dns', 'true', 'turns DNS off: --dns-domain and --dns-upstream mean nothing then');
  }
  return out;
}
