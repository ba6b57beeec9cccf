/**
 * CNI error results: the spec's numeric codes, the one error class the plugins throw, and the
 * translation of weft errors (from the API client and host plumbing) into CNI codes. Pure.
 */
import { WeftError, type WeftErrorCode } from '../common/index.js';

/**
 * Error codes of CNI spec 1.1.0 ("Well-known error codes"); 999 is "other".
 *  1 incompatible CNI version · 2 unsupported field · 3 container unknown / does not exist ·
 *  4 invalid environment variables · 5 I/O failure · 6 failed to decode content ·
 *  7 invalid network configuration · 11 try again later · 50 plugin not available (STATUS) ·
 *  51 not available, existing containers may have limited connectivity (STATUS) · 999 other.
 */
export type CniErrorCode = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 11 | 50 | 51 | 999;

const WEFT_CODE: Record<CniErrorCode, WeftErrorCode> = {
  1: 'WEFT_ERR_VERSION', 2: 'WEFT_ERR_BAD_CONFIG', 3: 'WEFT_ERR_NOT_FOUND', 4: 'WEFT_ERR_BAD_ARGS',
  5: 'WEFT_ERR_HOST', 6: 'WEFT_ERR_DECODE', 7: 'WEFT_ERR_BAD_CONFIG', 11: 'WEFT_ERR_NOT_RUNNING',
  50: 'WEFT_ERR_NOT_RUNNING', 51: 'WEFT_ERR_IPAM_NOT_READY', 999: 'WEFT_ERR_INTERNAL',
};

/** The JSON error result a plugin prints on stdout (exit code 1). */
export interface CniErrorResult {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/**
 * A failure with its CNI code. `message` is the one-line `msg` a person can act on; `details`
 * is optional extra context. It is a WeftError (code derived from the CNI code), so it may
 * travel like any other weft error.
 */
export class CniError extends WeftError {
  readonly cniCode: number;
  readonly details: string | undefined;
  constructor(cniCode: CniErrorCode | number, msg: string, details?: string) {
    super(WEFT_CODE[cniCode as CniErrorCode] ?? 'WEFT_ERR_INTERNAL', msg);
    this.name = 'CniError';
    this.cniCode = cniCode;
    this.details = details;
  }

  /** The spec's error result for this error, stamped with the protocol version in use. */
  toResult(cniVersion: string): CniErrorResult {
    return { cniVersion, code: this.cniCode, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/**
 * Any thrown value as a CniError, by its weft code (never its text). A daemon that is down,
 * slow or busy, and IPAM that is not ready yet, are transient (11: the runtime retries); a pod
 * namespace that does not exist is 3, one that is no namespace (or the host's) is 4 (CNI_NETNS
 * is wrong); everything else keeps its weft message under code 999 (the weft code goes into
 * `details`).
 */
export function toCniError(e: unknown, context?: string): CniError {
  if (e instanceof CniError) return e;
  const prefix = context ? `${context}: ` : '';
  if (e instanceof WeftError) {
    const code: CniErrorCode = (() => {
      switch (e.code) {
        case 'WEFT_ERR_NOT_RUNNING':
        case 'WEFT_ERR_TIMEOUT':
        case 'WEFT_ERR_CLOSED':
        case 'WEFT_ERR_IPAM_NOT_READY':
        case 'WEFT_ERR_RATE_LIMIT':
          return 11;
        case 'WEFT_ERR_NETNS_NOT_FOUND':
          return 3;
        case 'WEFT_ERR_NETNS_INVALID':
          return 4;
        default:
          return 999;
      }
    })();
    return new CniError(code, prefix + e.message, e.code);
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new CniError(999, prefix + msg);
}
