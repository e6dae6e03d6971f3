/**
 * Comparing an echo with the payload sent, between round trips: in
 * JavaScript four bytes at a time (portable), or by libc's `memcmp` for
 * the FFI engines, which have libc bound already.
 *
 * @module
 */
import { usize } from "../engine/ffi_socket.ts";
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
