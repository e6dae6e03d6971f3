/**
 * Round trips per minute, as the IETF draft "Responsiveness under Working
 * Conditions" (draft-ietf-ippm-responsiveness, section "Aggregating the
 * Measurements") defines them, adapted to echo probes. Pure.
 *
 * The draft's foreign probes give three times per new connection (TCP
 * handshake `tcp_f`, TLS handshake `tls_f`, HTTP request `http_f`), its
 * self probes one (an HTTP request on a load-generating connection,
 * `http_s`); each set is aggregated by a trimmed mean at the 95th
 * percentile (TMP = 95%), and
 *
 *   RPM = 60000 / (1/6 · (TM(tcp_f) + TM(tls_f) + TM(http_f)) + 1/2 · TM(http_s))
 *
 * with times in ms: foreign probes weigh half, self probes half. netspeed's
 * foreign probe is a new TCP connection to echo (its connect time is
 * `tcp_f`) and one echo round trip on it (`echo_f`, for `http_f`); there is
 * no TLS, so the foreign half is split over two terms instead of three:
 *
 *   RPM = 60000 / (1/4 · (TM(tcp_f) + TM(echo_f)) + 1/2 · TM(echo_s))
 *
 * @module
 */

/** The share of samples the trimmed mean keeps: those at or below the 95th percentile. */
export const TRIMMED_MEAN_PERCENTILE = 95;

/**
 * The draft's moving-average distance (MAD, 4) times its interval duration
 * (ID, 1 s): the loaded RPM aggregates the probes of the last 4 s of load.
 */
export const RPM_WINDOW_MS = 4000;

/**
 * Mean of the values at or below the `percentile`-th percentile
 * (nearest rank): the top (100 − percentile)% are dropped as outliers.
 * NaN for no values.
 *
 * @example
 * ```ts
 * trimmedMean([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 1000]); // 10
 * ```
 */
export function trimmedMean(values: readonly number[], percentile = TRIMMED_MEAN_PERCENTILE) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const keep = Math.max(1, Math.ceil(sorted.length * percentile / 100));
  let sum = 0;
  for (let i = 0; i < keep; i++) sum += sorted[i];
  return sum / keep;
}

/** Trimmed means of the three probe times, ms. */
export interface ProbeTrimmedMeans {
  /** New connection: TCP handshake (connect() until established). */
  tcpForeignMs: number;
  /** New connection: first echo round trip. */
  echoForeignMs: number;
  /** Established connection: echo round trip. */
  echoSelfMs: number;
}

/** The weighted round trip behind the RPM, ms. */
export function weightedRoundTripMs(tm: ProbeTrimmedMeans): number {
  return (tm.tcpForeignMs + tm.echoForeignMs) / 4 + tm.echoSelfMs / 2;
}

/** Round trips per minute; null when a probe kind has no sample. */
export function roundTripsPerMinute(tm: ProbeTrimmedMeans): number | null {
  const ms = weightedRoundTripMs(tm);
  return Number.isFinite(ms) && ms > 0 ? 60_000 / ms : null;
}

/**
 * The part of the load the loaded RPM aggregates, ms from the run's
 * start: the last {@linkcode RPM_WINDOW_MS} of it, but never its first
 * second (or first fifth, for short loads), while the streams ramp up.
 */
export function rpmWindow(
  loadStartMs: number,
  loadEndMs: number,
): { fromMs: number; toMs: number } {
  const rampMs = Math.min(1000, (loadEndMs - loadStartMs) * 0.2);
  return { fromMs: Math.max(loadStartMs + rampMs, loadEndMs - RPM_WINDOW_MS), toMs: loadEndMs };
}
