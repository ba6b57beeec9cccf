import { isIp } from '../net/index.js';
import { WeftError } from '../common/index.js';

/** A parsed "host[:port]". IPv6 hosts are held without brackets. */
export interface HostPort {
  host: string;
  port?: number;
}

/** What parseHostPort accepts, and how it names the value in errors. */
export interface HostPortRules {
  /** Names the value in error messages, e.g. 'peer' or '--status-addr'. */
  what: string;
  requirePort?: boolean;
  /** Accept port 0 (ephemeral; listeners only). */
  allowPortZero?: boolean;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * Parse "host", "host:port", "[v6]" or "[v6]:port" where host is an IPv4 address, a DNS name
 * or (in brackets) an IPv6 address. Pure; throws WEFT_ERR_BAD_ARGS with a one-line message
 * `invalid <what> "<text>": <reason>`.
 */
export function parseHostPort(text: string, rules: HostPortRules): HostPort {
  const bad = (reason: string): WeftError => new WeftError('WEFT_ERR_BAD_ARGS', `invalid ${rules.what} "${text}": ${reason}`);
  let host: string;
  let portText: string | undefined;
  if (text === '') throw bad('empty address');
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw bad('missing "]" after IPv6 address');
    host = text.slice(1, close);
    if (!isIp(host, 6)) throw bad(`"${host}" is not an IPv6 address`);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw bad('expected ":port" after "]"');
      portText = rest.slice(1);
    }
  } else {
    const colons = text.split(':').length - 1;
    if (colons > 1) throw bad(isIp(text, 6) ? `IPv6 addresses need brackets, e.g. [${text}]:6783` : 'too many ":"');
    [host, portText] = colons === 1 ? [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)] : [text, undefined];
    const reason = hostProblem(host);
    if (reason) throw bad(reason);
  }
  if (portText === undefined) {
    if (rules.requirePort) throw bad('missing ":port"');
    return { host };
  }
  const min = rules.allowPortZero ? 0 : 1;
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < min || Number(portText) > 65535) {
    throw bad(`port must be an integer ${min}-65535`);
  }
  return { host, port: Number(portText) };
}

/** Why `host` is neither an IPv4 address nor a valid DNS name, or null if it is fine. */
function hostProblem(host: string): string | null {
  if (host === '') return 'empty host';
  if (isIp(host, 4)) return null;
  if (/^[\d.]+$/.test(host)) return `"${host}" is not a valid IPv4 address`;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > 253 || !name.split('.').every((l) => LABEL.test(l))) return `"${host}" is not a valid host name`;
  return null;
}

/** "host:port" with brackets around IPv6 hosts ("host" alone when there is no port). */
export function formatHostPort(hp: HostPort): string {
  const host = isIp(hp.host, 6) ? `[${hp.host}]` : hp.host;
  return hp.port === undefined ? host : `${host}:${hp.port}`;
}
