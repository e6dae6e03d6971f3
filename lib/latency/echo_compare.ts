/**
 * Comparing an echo with the payload sent, between round trips: in
 * JavaScript (portable), or by libc's `memcmp` for the FFI engines, which
 * have libc bound already. Closed loops compare whole echoes; open loops
 * compare what follows the frame header, which is checked field by field.
 *
 * @module
 */
import { usize } from "../engine/ffi_socket.ts";
import type { EngineName } from "../engine/socket_engine.ts";
import { libc } from "../engine/libc.ts";

/** Whether `a` and `b` hold the same bytes; the word views are those of {@linkcode wordsOf}. */
export type EchoComparison = (
  a: Uint8Array,
  aWords: Uint32Array,
  b: Uint8Array,
  bWords: Uint32Array,
) => boolean;

/** A buffer made here (offset 0) seen four bytes at a time, for a quicker comparison. */
export function wordsOf(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, 0, bytes.length >> 2);
}

/** In JavaScript: a word at a time, then the last bytes. */
export const equalBytes: EchoComparison = (a, aWords, b, bWords) => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < aWords.length; i++) if (aWords[i] !== bWords[i]) return false;
  for (let i = aWords.length << 2; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * By libc's `memcmp` (Linux, --allow-ffi): 30 ns for 1 KiB against
 * 200–400 ns in JavaScript, 1.2 µs for 64 KiB against 17–25 µs here.
 */
export const equalBytesLibc: EchoComparison = (a, _aWords, b) =>
  a.length === b.length && libc().memcmp(a, b, usize(a.length)) === 0;

/** Whether `a` and `b` have the same length and the same bytes from `from` on. */
export type TailComparison = (a: Uint8Array, b: Uint8Array, from: number) => boolean;

/** In JavaScript, a byte at a time. */
export const sameBytesFrom: TailComparison = (a, b, from) => {
  if (a.length !== b.length) return false;
  for (let i = from; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * By libc's `memcmp`: a paced FFI Worker compares each reply just after
 * waking, when a byte loop over 1 KiB is at its slowest (cold caches).
 */
export const sameBytesFromLibc: TailComparison = (a, b, from) =>
  a.length === b.length &&
  (a.length <= from ||
    libc().memcmp(a.subarray(from), b.subarray(from), usize(a.length - from)) === 0);

/** The tail comparison for an engine: `memcmp` wherever libc is bound anyway. */
export function tailComparisonFor(engine: EngineName): TailComparison {
  return engine === "deno" ? sameBytesFrom : sameBytesFromLibc;
}
