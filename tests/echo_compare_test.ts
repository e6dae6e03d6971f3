/**
 * The two ways an echo is compared with its payload must agree: the same
 * bytes, a byte changed anywhere (first, inside a word, in the tail past
 * the last whole word), a length that differs. The open loops' tail
 * comparisons must also leave the bytes before `from` (the frame header) out.
 */
import assert from "node:assert/strict";
import {
  equalBytes,
  equalBytesLibc,
  sameBytesFrom,
  sameBytesFromLibc,
  wordsOf,
} from "../lib/latency/echo_compare.ts";

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

const TAIL_COMPARISONS = Deno.build.os === "linux"
  ? [["JavaScript", sameBytesFrom], ["memcmp", sameBytesFromLibc]] as const
  : [["JavaScript", sameBytesFrom]] as const;

for (const [name, sameTail] of TAIL_COMPARISONS) {
  Deno.test(`open-loop tail comparison (${name}) finds a changed byte from "from" on, and only there`, () => {
    for (const [size, from] of [[16, 16], [17, 16], [1024, 16], [1025, 24], [65_536, 16]]) {
      const payload = crypto.getRandomValues(new Uint8Array(size));
      // Views at an offset, as a reply split out of a larger read is.
      const echo = new Uint8Array(size + 8).subarray(8);
      echo.set(payload);
      assert.equal(sameTail(payload, echo, from), true, `${size} B from ${from}, same bytes`);
      for (const at of new Set([0, from - 1])) {
        echo[at] ^= 0x01;
        assert.equal(sameTail(payload, echo, from), true, `${size} B, header byte ${at} changed`);
        echo[at] ^= 0x01;
      }
      for (
        const at of new Set(
          [from, (from + size) >> 1, size - 1].filter((i) => i >= from && i < size),
        )
      ) {
        echo[at] ^= 0x01;
        assert.equal(sameTail(payload, echo, from), false, `${size} B, byte ${at} changed`);
        echo[at] ^= 0x01;
      }
      assert.equal(sameTail(payload, echo.subarray(0, size - 1), from), false, "one less");
    }
  });
}
