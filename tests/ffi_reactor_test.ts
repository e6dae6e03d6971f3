/**
 * The FFI reactor's timers: a paced sender's `onDue` runs inside the
 * reactor at the moment (not before it, not after the promise settled),
 * once; a cancelled wait never runs it; what it throws rejects the wait.
 * And the sleep-and-spin policy the reactor and the UDP open loop share.
 */
import assert from "node:assert/strict";
import { blockMsFor, sleepUntilFfi, spinMsFor, threadReactor } from "../lib/engine/ffi_reactor.ts";

const LINUX = Deno.build.os === "linux";

Deno.test({
  name: "sleepUntilFfi() runs onDue once, at the moment, before the wait resolves",
  ignore: !LINUX,
  async fn() {
    for (const aheadMs of [0.3, 3, 25]) {
      const targetPerf = performance.now() + aheadMs;
      const calls: number[] = [];
      let settled = false;
      const wait = sleepUntilFfi(targetPerf, () => false, () => {
        assert.equal(settled, false, "onDue ran after the wait had resolved");
        calls.push(performance.now());
      }).then(() => (settled = true));
      await wait;
      assert.equal(calls.length, 1);
      assert.ok(calls[0] >= targetPerf, `onDue ran ${(targetPerf - calls[0]) * 1000} µs early`);
      // Wide bound: a loaded machine delays a wake-up, never by this much.
      assert.ok(calls[0] - targetPerf < 50, `onDue ran ${calls[0] - targetPerf} ms late`);
    }
  },
});

Deno.test({
  name: "sleepUntilFfi() cancelled before the moment does not run onDue",
  ignore: !LINUX,
  async fn() {
    let stop = false;
    let ran = false;
    const started = performance.now();
    setTimeout(() => (stop = true), 20);
    // Slices of at most 100 ms: the stop is seen at the end of the first one.
    await sleepUntilFfi(performance.now() + 5_000, () => stop, () => (ran = true));
    assert.equal(ran, false);
    assert.ok(performance.now() - started < 1_000);
  },
});

Deno.test({
  name: "a reactor timer whose onDue throws rejects its wait, and the reactor keeps going",
  ignore: !LINUX,
  async fn() {
    const reactor = threadReactor();
    await assert.rejects(
      reactor.sleepUntil(performance.now() + 1, () => {
        throw new Error("send failed");
      }),
      /send failed/,
    );
    let ran = false;
    await reactor.sleepUntil(performance.now() + 1, () => (ran = true));
    assert.equal(ran, true);
  },
});

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
