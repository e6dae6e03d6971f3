/**
 * Failures counted by kind: every command's summary has them, and every
 * batch of samples adds to them.
 *
 * @module
 */
import { ERROR_KINDS, type ErrorKind } from "./worker_protocol.ts";

/** Failed attempts per kind. */
export type ErrorCounts = Record<ErrorKind, number>;

/** An all-zero {@linkcode ErrorCounts}. */
export function zeroErrorCounts(): ErrorCounts {
  return Object.fromEntries(ERROR_KINDS.slice(1).map((k) => [k, 0])) as ErrorCounts;
}

/**
 * Adds the failures of a batch (its `error` column holds wire codes, 0 for
 * success) to the run's counts; returns how many there were.
 */
export function countFailures(
  batch: { length: number; error: Uint8Array },
  counts: ErrorCounts,
): number {
  let failed = 0;
  for (let i = 0; i < batch.length; i++) {
    const code = batch.error[i];
    if (code !== 0) {
      counts[ERROR_KINDS[code] as ErrorKind]++;
      failed++;
    }
  }
  return failed;
}

/** The most frequent failure kind, for one-line errors ("other" when none). */
export function commonestFailure(counts: ErrorCounts): ErrorKind {
  let best: ErrorKind = "other";
  let most = 0;
  for (const [kind, n] of Object.entries(counts) as [ErrorKind, number][]) {
    if (n > most) [best, most] = [kind, n];
  }
  return best;
}
