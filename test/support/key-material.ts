/**
 * Does a text (a reply the web page received) carry key material? Looks for each given secret
 * (the cluster password, the identity's private and public keys) in every encoding a leak would
 * take — as given, hex, base64, base64url — and, in JSON, for fields named like a key or secret
 * whose value is a string, and for any string that looks like an encoded key (32+ hex digits,
 * 40+ base64 characters). Returns one line per finding (empty: clean).
 */
/**
 * Fields whose long hex values are public identifiers, not keys: the IPAM ring's random id
 * (sent to every peer in IPAM messages) and the policy input's digest (a hash of policies
 * every host holds). Any other long hex or base64 string is reported.
 */
export const PUBLIC_ID_FIELDS: ReadonlySet<string> = new Set(['ringId', 'inputDigest']);
const KEY_FIELD = /(^|_|-)(private|secret|psk|password|passphrase|key|token)(_?key)?$/i;
const HEXISH = /^[0-9a-f]{32,}$/i;
const B64ISH = /^[A-Za-z0-9+/_-]{40,}={0,2}$/;

function encodings(secret: string | Buffer): string[] {
  const b = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  const out = [b.toString('hex'), b.toString('hex').toUpperCase(), b.toString('base64'), b.toString('base64url')];
  if (typeof secret === 'string') out.push(secret);
  return out.filter((x) => x.length >= 8);
}

export function keyMaterialFindings(text: string, secrets: readonly (string | Buffer)[], where = 'reply'): string[] {
  const found: string[] = [];
  secrets.forEach((secret, i) => {
    for (const enc of encodings(secret)) if (text.includes(enc)) found.push(`${where}: contains secret #${i} (${enc.slice(0, 6)}…)`);
  });
  const scan = (v: unknown, path: string, field = ''): void => {
    if (typeof v === 'string') {
      if (PUBLIC_ID_FIELDS.has(field)) return;
      if (HEXISH.test(v) || B64ISH.test(v)) found.push(`${where}: ${path} looks like an encoded key (${v.length} chars)`);
      return;
    }
    if (Array.isArray(v)) { v.forEach((x, i) => scan(x, `${path}[${i}]`)); return; }
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (KEY_FIELD.test(k) && typeof x === 'string') found.push(`${where}: ${path}.${k} is a string field named like a key`);
        scan(x, `${path}.${k}`, k);
      }
    }
  };
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{') && !t.startsWith('[')) continue;
    try { scan(JSON.parse(t), '$'); } catch { /* not JSON: the substring checks above still apply */ }
  }
  return found;
}
