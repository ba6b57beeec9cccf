import { WeftError } from './errors.js';

/**
 * Throw WEFT_ERR_INTERNAL for an index that had to exist (a loop bound, a length checked
 * earlier) but does not. Hot paths read `buf[i] ?? missingIndex('what', i)`: the check costs
 * nothing measurable, unlike Buffer#readUInt8 (several times slower in a loop), and a miss is
 * loud instead of an `undefined` travelling on. Not for input validation: bad input is
 * checked first and gets its own error (WEFT_ERR_DECODE, …).
 */
export function missingIndex(what: string, i: number): never {
  throw new WeftError('WEFT_ERR_INTERNAL', `${what}: index ${i} out of range`);
}

/** `xs[i]` for an index that must exist by construction; WEFT_ERR_INTERNAL naming `what` if not. */
export function at<T>(xs: ArrayLike<T>, i: number, what = 'element'): T {
  const v = i >= 0 && i < xs.length ? xs[i] : undefined;
  if (v === undefined) throw new WeftError('WEFT_ERR_INTERNAL', `${what} ${i} out of range (length ${xs.length})`);
  return v;
}
