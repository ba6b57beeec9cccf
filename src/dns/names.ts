/**
 * The syntax of names under the weft domain, one place for the CLI's arguments, the API, the
 * store and the query path. Names are compared in lowercase (DNS is case-insensitive) and kept
 * relative to the domain (`db`, not `db.weft.local`), so a store survives a change of
 * `--dns-domain`. Pure.
 */

/** Longest name (RFC 1035: 253 characters in text form). */
export const MAX_DNS_NAME = 253;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Lowercase, no trailing dot. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Why `name` (already normalised) is not a usable host name, or null. */
export function dnsNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_DNS_NAME) return `longer than ${MAX_DNS_NAME} characters`;
  for (const label of name.split('.')) {
    if (label.length === 0) return 'has an empty label (two dots, or a leading dot)';
    if (label.length > 63) return `label "${label.slice(0, 20)}…" is longer than 63 characters`;
    if (!LABEL.test(label)) return `label "${label}" must be letters, digits, "_" and "-" (not at either end)`;
  }
  return null;
}

/**
 * `name` relative to `domain` (both normalised): `db.weft.local` → `db`, `db` → `db`; the
 * domain itself → ''. A name outside the domain is taken as relative (`db.prod` → `db.prod`).
 */
export function relativeName(name: string, domain: string): string {
  const n = normalizeName(name);
  if (n === domain) return '';
  return n.endsWith(`.${domain}`) ? n.slice(0, -(domain.length + 1)) : n;
}

/**
 * Where a query name falls: `{ inDomain: true, rel }` for the domain or a name under it
 * (`rel` '' for the apex), else `{ inDomain: false }` (forwarded upstream).
 */
export function classifyQueryName(qname: string, domain: string): { inDomain: true; rel: string } | { inDomain: false } {
  const n = normalizeName(qname);
  if (n === domain) return { inDomain: true, rel: '' };
  if (n.endsWith(`.${domain}`)) return { inDomain: true, rel: n.slice(0, -(domain.length + 1)) };
  return { inDomain: false };
}
