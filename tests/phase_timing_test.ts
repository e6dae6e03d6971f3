/**
 * phaseTiming: what a run's rates divide by. A deadline ends the window
 * when the phase reached it; otherwise the workers' own end of measuring
 * does, never the wind-down after it.
 */
import assert from "node:assert/strict";
import { type MeasuredPhase, phaseTiming, secondsOf } from "../lib/worker_group.ts";

function phase(goEpochMs: number, endEpochMs: number): MeasuredPhase {
  return {
    interrupted: false,
    askedStartEpochMs: null,
    goEpochMs,
    endEpochMs,
    cpu: { userSeconds: 0, systemSeconds: 0, cores: 2, seconds: 1 },
  };
}

Deno.test("a phase that reached its deadline measured until the deadline", () => {
  const timing = phaseTiming(phase(1000, 2012), 1000, 2000, 1999.5);
  assert.equal(timing.endEpochMs, 2000);
  assert.equal(secondsOf(timing), 1);
});

Deno.test("a count-based phase measured until its workers' last measuring ended", () => {
  const timing = phaseTiming(phase(1000, 1360), 1000, undefined, 1349);
  assert.equal(timing.endEpochMs, 1349);
  assert.equal(secondsOf(timing), 0.349);
});

Deno.test("a phase stopped before its deadline ends with the measuring, not at the deadline", () => {
  const timing = phaseTiming(phase(1000, 1510), 1000, 3000, 1500);
  assert.equal(timing.endEpochMs, 1500);
});

Deno.test("without a worker's end (none measured), the phase's own end serves", () => {
  assert.equal(phaseTiming(phase(1000, 1010), 1000, undefined, -Infinity).endEpochMs, 1010);
  assert.equal(phaseTiming(phase(1000, 1010)).endEpochMs, 1010);
});

Deno.test("a reported end outside the phase is clamped into it", () => {
  assert.equal(phaseTiming(phase(1000, 1010), 1000, undefined, 1200).endEpochMs, 1010);
  assert.equal(phaseTiming(phase(1000, 1010), 1005, undefined, 990).endEpochMs, 1005);
});
