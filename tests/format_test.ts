import assert from "node:assert/strict";
import { renderProgress } from "../lib/progress.ts";
import { formatBitsPerSec, formatClock, formatCount, formatTable, formatUs } from "../lib/table.ts";

Deno.test("formatTable() pads columns: text left, numbers right", () => {
  const text = formatTable(["name", "count"], [["a", "1"], ["longer", "1,000"]]);
  assert.equal(text, ["name    count", "a           1", "longer  1,000"].join("\n"));
});

Deno.test("formatUs(), formatCount(), formatBitsPerSec() and formatClock() pick sensible units", () => {
  assert.equal(formatUs(12.3456), "12.35");
  assert.equal(formatUs(1234.56), "1234.6");
  assert.equal(formatUs(123456.7), "123457");
  assert.equal(formatCount(1234567.4), "1,234,567");
  assert.equal(formatBitsPerSec(941e6), "941 Mbit/s");
  assert.equal(formatBitsPerSec(2.5e9), "2.50 Gbit/s");
  assert.equal(formatClock(75), "1:15");
  assert.equal(formatClock(3725), "1:02:05");
});

Deno.test("renderProgress() shows done/planned, rate, elapsed and ETA", () => {
  const line = renderProgress({ done: 2500, planned: 10_000, unit: "round trips" }, 5000, 10);
  assert.equal(line, "[###.......]  25%  2,500/10,000 round trips  500/s  elapsed 0:05  ETA 0:15");
});

Deno.test("renderProgress() uses the planned time when the run is bounded by time", () => {
  const line = renderProgress({ done: 100, plannedMs: 10_000, unit: "round trips" }, 5000, 4);
  assert.equal(line, "[##..]  50%  100 round trips  20/s  elapsed 0:05  ETA 0:05");
});
