/** Pure statistics for benchmark samples: medians with min–max spread, ratios. */

/** Median and range of a set of samples. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Number of samples. */
  n: number;
}

/** Median of finite values (mean of the middle two for even counts); null when empty. */
export function median(values: readonly number[]): number | null {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Spread of the finite values among `values` (nulls are skipped); null when none. */
export function spread(values: readonly (number | null | undefined)[]): Spread | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  const m = median(v);
  if (m === null) return null;
  return { median: m, min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/** a / b, or null when either is missing or b is not positive. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !(b > 0) || !Number.isFinite(a)) return null;
  return a / b;
}

/** a − b, or null when either is missing. */
export function difference(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  return a - b;
}

/**
 * Interleaving order for one round: the scenario list rotated by the round number, so no
 * scenario always runs first (right after setup) or last.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = ((round % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** The p-th percentile (nearest rank) of an ascending-sorted array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
