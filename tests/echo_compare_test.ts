/**
 * The two ways an echo is compared with its payload must agree: the same
 * bytes, a byte changed anywhere (first, inside a word, in the tail past
 * the last whole word), a length that differs.
 */
import assert from "node:assert/strict";
import { equalBytes, equalBytesLibc, wordsOf } from "../lib/latency/echo_compare.ts";

const COMPARISONS = Deno.build.os === "linux"
  ? [["JavaScript", equalBytes], ["memcmp", equalBytesLibc]] as const
  : [["JavaScript", equalBytes]] as const;

for (const [name, equal] of COMPARISONS) {
  Deno.test(`echo comparison (${name}) finds one changed byte anywhere, and no difference where none is`, () => {
    for (const size of [1, 3, 4, 1023, 1024, 65_537]) {
      const payload = new Uint8Array(size);
      for (let offset = 0; offset < size; offset += 65536) {
        crypto.getRandomValues(payload.subarray(offset, Math.min(size, offset + 65536)));
      }
      const echo = new Uint8Array(size);
      echo.set(payload);
      const pw = wordsOf(payload);
      const ew = wordsOf(echo);
      assert.equal(equal(payload, pw, echo, ew), true, `${size} B, same bytes`);
      for (const at of new Set([0, size >> 1, size - 1])) {
        echo[at] ^= 0x01;
        assert.equal(equal(payload, pw, echo, ew), false, `${size} B, byte ${at} changed`);
        echo[at] ^= 0x01;
      }
      const shorter = echo.slice(0, size - 1);
      assert.equal(
        equal(payload, pw, shorter, wordsOf(shorter)),
        false,
        `${size} B against one less`,
      );
    }
  });
}
