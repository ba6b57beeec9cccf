/**
 * CNI spec versions: which ones the plugins speak and which verbs each allows. Pure.
 */
import { CniError } from './cni-error.js';

/** Spec versions both plugins support (VERSION answers with this list). */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_CNI_VERSIONS)[number];
/** The newest version; used for error results when the input's version is unusable. */
export const LATEST_CNI_VERSION: CniVersion = '1.1.0';

const SEMVER = /^(\d{1,6})\.(\d{1,6})\.(\d{1,6})$/;

/** Negative, zero or positive like a comparator; both must be "x.y.z". */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (!pa || !pb) throw new CniError(6, `cannot compare CNI versions "${a}" and "${b}" (want x.y.z)`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  return 0;
}

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(v);
}

/** True when `v` is at least `min` (both valid versions). */
export function atLeast(v: CniVersion, min: CniVersion): boolean {
  return compareVersions(v, min) >= 0;
}

/** Result shape family: 0.3.0–0.4.0 ("04x": ips carry `version`) or 1.x (no `version`). */
export function resultFamily(v: CniVersion): '04x' | '1x' {
  return atLeast(v, '1.0.0') ? '1x' : '04x';
}

/**
 * The version a request declares, checked: a missing or malformed `cniVersion` is 6 (decode),
 * a well-formed one we do not speak is 1 (incompatible), with the supported list in details.
 */
export function requireSupportedVersion(declared: unknown): CniVersion {
  if (declared === undefined) throw new CniError(6, 'network configuration has no "cniVersion"');
  if (typeof declared !== 'string' || !SEMVER.test(declared)) {
    throw new CniError(6, `network configuration "cniVersion" must be a version string like "1.0.0", got ${JSON.stringify(declared)}`);
  }
  if (!isSupportedVersion(declared)) {
    throw new CniError(1, `incompatible CNI version ${declared}: this plugin supports ${SUPPORTED_CNI_VERSIONS.join(', ')}`,
      `config is "${declared}", plugin supports ${JSON.stringify(SUPPORTED_CNI_VERSIONS)}`);
  }
  return declared;
}

/** Verbs with a minimum spec version (CHECK since 0.4.0; STATUS and GC since 1.1.0). */
const VERB_MIN: Partial<Record<string, CniVersion>> = { CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0' };

/** Throws 1 when the verb does not exist in the request's version. */
export function checkVerbAllowed(command: string, v: CniVersion): void {
  const min = VERB_MIN[command];
  if (min && !atLeast(v, min)) {
    throw new CniError(1, `CNI ${command} needs cniVersion ${min} or later; the configuration says ${v}`,
      `config version ${v} does not allow ${command}`);
  }
}
