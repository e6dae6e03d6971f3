/**
 * How a schedule's thread waits for its moments with the FFI engine
 * (`lib/engine/ffi_pacing.ts`): the sleep-and-spin policy, and a wait that
 * ends at the moment, never before, serving its sockets all along, and
 * stops when told.
 */
import assert from "node:assert/strict";
import { blockMsFor, spinMsFor, untilMoment } from "../lib/engine/ffi_pacing.ts";
import { yieldNow } from "../lib/engine/thread_turns.ts";

Deno.test("the spin before a moment is 50 µs, or 1% of a longer wait up to 500 µs", () => {
  assert.equal(spinMsFor(1), 0.05);
  assert.equal(spinMsFor(20), 0.2);
  assert.equal(spinMsFor(10_000), 0.5);
});

Deno.test("a block ends 1 ms early when the moment is far, at the spin when near, never past 20 ms", () => {
  assert.equal(blockMsFor(10, 0.1), 9);
  assert.equal(blockMsFor(100, 0.5), 20);
  assert.ok(Math.abs(blockMsFor(1.5, 0.05) - 1.45) < 1e-9);
  assert.ok(blockMsFor(0.04, 0.05) <= 0, "inside the spin: no block");
});

/** A sleep that blocks the thread as `ppoll` would, with no socket to serve. */
const cell = new Int32Array(new SharedArrayBuffer(4));
const blockFor = (ms: number) => void Atomics.wait(cell, 0, 0, ms);

Deno.test("untilMoment() ends at the moment, having slept most of the wait", async () => {
  for (const aheadMs of [0.3, 3, 25]) {
    // A turn of the event loop just taken: none comes (and takes time) within the wait.
    await yieldNow();
    const duePerf = performance.now() + aheadMs;
    let sleptMs = 0;
    const ended = await untilMoment(duePerf, {
      sleep: (ms) => {
        sleptMs += ms;
        blockFor(ms);
      },
      pollNow: () => {},
      stopping: () => false,
    });
    assert.ok(ended !== undefined && ended >= duePerf, `ended ${duePerf - (ended ?? 0)} ms early`);
    // Wide bound: a loaded machine delays a wake-up, never by this much.
    assert.ok(ended - duePerf < 50, `ended ${ended - duePerf} ms late`);
    // The first block alone is two thirds of the wait or more (2 of 3 ms, 20 of 25).
    if (aheadMs >= 3) assert.ok(sleptMs >= aheadMs * 0.6, `slept ${sleptMs} of ${aheadMs} ms`);
  }
});

Deno.test("untilMoment() serves the sockets through its last stretch", async () => {
  // Sleeps that return at once leave the loop at the spin early: 1% of 30 ms, 300 µs of polls.
  await yieldNow();
  let polls = 0;
  const duePerf = performance.now() + 30;
  const ended = await untilMoment(duePerf, {
    sleep: () => {},
    pollNow: () => polls++,
    stopping: () => false,
  });
  assert.ok(ended !== undefined && ended >= duePerf);
  // Unless the thread was held off for the whole stretch (a loaded machine), it polled.
  assert.ok(polls > 0 || ended - duePerf > spinMsFor(30), "the spin did not poll");
});

Deno.test("untilMoment() returns undefined, without spinning, once told to stop", async () => {
  let stop = false;
  let polls = 0;
  const ended = await untilMoment(performance.now() + 5_000, {
    sleep: (ms) => {
      blockFor(Math.min(ms, 5));
      stop = true;
    },
    pollNow: () => polls++,
    stopping: () => stop,
  });
  assert.equal(ended, undefined);
  assert.equal(polls, 0);
});
