import { WeftError } from './errors.js';

/**
 * `xs[i]`, for an index that must exist by construction (a loop bound, a length checked
 * earlier). A miss is a programming error and throws WEFT_ERR_INTERNAL naming `what`, instead
 * of letting `undefined` travel on. Not for input validation: bad input gets its own error.
 */
export function at<T>(xs: ArrayLike<T>, i: number, what = 'element'): T {
  const v = i >= 0 && i < xs.length ? xs[i] : undefined;
  if (v === undefined) throw new WeftError('WEFT_ERR_INTERNAL', `${what} ${i} out of range (length ${xs.length})`);
  return v;
}
