/**
 * The bucket bounds of `netspeed_probe_rtt_seconds`. Prometheus estimates a
 * quantile by linear interpolation inside the bucket that holds it, so the
 * estimate can be off by at most the ratio between neighbouring bounds: 13
 * bounds per decade make that ratio 10^(1/13) ≈ 1.194, so the estimate of a
 * p50 or p99 stays within 20% of the true value wherever it falls, from 10 µs
 * (loopback) to 10 s (a link in trouble).
 *
 * @module
 */

/** Bounds per decade: the fewest that keep neighbouring bounds within 20% of each other. */
export const BUCKETS_PER_DECADE = 13;

/**
 * Log-spaced bucket upper bounds in seconds from `lowestS` to `highestS`,
 * `perDecade` per power of ten, rounded to 4 significant digits so the
 * exposition stays readable.
 */
export function logBucketsSeconds(
  lowestS = 10e-6,
  highestS = 10,
  perDecade = BUCKETS_PER_DECADE,
): number[] {
  const steps = Math.round(Math.log10(highestS / lowestS) * perDecade);
  return Array.from(
    { length: steps + 1 },
    (_, i) => Number((lowestS * 10 ** (i / perDecade)).toPrecision(4)),
  );
}
