/**
 * The pure parts of `merge`: histogram sums, throughput on one wall-clock
 * grid, the warnings, and the clock offset a node measures.
 */
import assert from "node:assert/strict";
import { createHistogram, encodeHistogram, recordUs } from "../lib/histogram.ts";
import { newRunInfo } from "../lib/run_info.ts";
import { aggregateIntervals, mergeResults, uniqueIds } from "../lib/merge/merge_results.ts";
import { clockOffset } from "../lib/clock/clock_check.ts";
import type { AnyRunResult } from "../lib/results/load_result.ts";

function node(
  id: string,
  values: number[],
  extra: Partial<AnyRunResult> = {},
): { source: string; result: AnyRunResult } {
  const h = createHistogram();
  for (const v of values) recordUs(h, v);
  const run = newRunInfo();
  return {
    source: `${id}.json`,
    result: {
      command: "latency",
      kind: "latency",
      mode: "closed-loop",
      resultFormat: 1,
      node: { id, host: id },
      run,
      options: { count: values.length },
      start: { askedAt: null, askedEpochMs: 1000, lateMs: 0 },
      window: { originEpochMs: 1000, startEpochMs: 1000, endEpochMs: 2000 },
      interrupted: false,
      counts: { ok: values.length, failed: 0, byOutcome: {} },
      histograms: { rtt: encodeHistogram(h) },
      files: { csv: null, hlog: null, json: null },
      warnings: [],
      ...extra,
    } as AnyRunResult,
  };
}

Deno.test("mergeResults() sums histograms and counts, and says which options differ", () => {
  const a = node("a", [100, 200, 300]);
  const b = node("b", [1000, 2000], { options: { count: 2 } });
  const m = mergeResults([a, b], newRunInfo());
  assert.equal(m.done, 5);
  assert.equal(m.rtt?.count, 5);
  assert.ok(Math.abs(m.rtt!.maxUs - 2000) <= 2, "max within HDR precision");
  assert.ok(m.warnings.some((w) => /^Option count differs between nodes \(a: 3, b: 2\)/.test(w)));
  assert.deepEqual(m.merge.nodes.map((n) => n.stats?.count), [3, 2]);
});

Deno.test("mergeResults() warns about late starts, starved clients and skewed clocks", () => {
  const late = node("late", [1], { start: { askedAt: null, askedEpochMs: 1000, lateMs: 42 } });
  const cpu = node("busy", [1], {
    clientCpu: { shareOfCores: 0.97 },
  } as Partial<AnyRunResult>);
  const clock = (offsetMs: number) =>
    ({ clock: { reference: "s:1", offsetMs, uncertaintyMs: 0.1, samples: 5 } }) as Partial<
      AnyRunResult
    >;
  const m = mergeResults([
    late,
    cpu,
    node("c", [1], clock(0.5)),
    node("d", [1], clock(-0.2)),
    node("e", [1], clock(250)),
  ], newRunInfo());
  const text = m.warnings.join("\n");
  assert.match(text, /Node late began measuring 42\.0 ms after --start-at/);
  assert.match(text, /Node busy: the client used 97% of its cores/);
  assert.match(text, /Node e's clock is 249\.\d ms ahead of the others'/);
  assert.doesNotMatch(text, /Node [cd]'s clock/);
});

Deno.test("aggregateIntervals() splits a straddling interval so that every byte counts once", () => {
  const tp = (id: string, originEpochMs: number, bytes: number[]) =>
    node(id, [], {
      kind: "throughput",
      command: "throughput",
      histograms: {},
      window: { originEpochMs, startEpochMs: originEpochMs, endEpochMs: originEpochMs + 2000 },
      intervals: bytes.map((b, i) => ({
        startSeconds: i,
        endSeconds: i + 1,
        omitted: false,
        up: { bytes: b },
        down: null,
      })),
    });
  // b starts half an interval after a.
  const inputs = [tp("a", 10_000, [1000, 1000]), tp("b", 10_500, [400, 400])];
  const bins = aggregateIntervals(inputs, ["a", "b"], 10_000);
  const total = bins.reduce((s, b) => s + b.upBytes, 0);
  assert.equal(total, 2800);
  assert.equal(bins[0].upBytes, 1000 + 200);
  assert.equal(bins[1].upBytes, 1000 + 400);
  assert.equal(bins[2].upBytes, 200);
  assert.equal(bins[1].byNode.b, 400 * 8);
});

Deno.test("mergeResults() says when one run is given twice", () => {
  const a = node("a", [1, 2]);
  const m = mergeResults([a, a], newRunInfo());
  assert.deepEqual(m.merge.nodes.map((n) => n.id), ["a", "a#2"]);
  assert.ok(
    m.warnings.some((w) => /^Node a#2 holds the same run as node a/.test(w)),
    m.warnings.join(),
  );
});

Deno.test("uniqueIds() keeps ids apart", () => {
  assert.deepEqual(uniqueIds(["a", "b", "a", "a"]), ["a", "b", "a#2", "a#3"]);
});

Deno.test("clockOffset() keeps the exchange with the shortest round trip", () => {
  const c = clockOffset("srv:7037", [
    { sentEpochMs: 1000, receivedEpochMs: 1010, serverEpochMs: 900 },
    { sentEpochMs: 2000, receivedEpochMs: 2002, serverEpochMs: 1901 },
  ]);
  assert.deepEqual(c, { reference: "srv:7037", offsetMs: 100, uncertaintyMs: 1, samples: 2 });
  assert.equal(clockOffset("x", []), null);
});
