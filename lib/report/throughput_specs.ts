/**
 * Vega-Lite specs of the throughput charts: pure functions from aggregated
 * throughput data to specs.
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import { snapToInterval, type ThroughputData } from "./throughput_data.ts";
import { BASE_CONFIG, RUN_PALETTE, runColors, sig, WIDE } from "./specs.ts";

/** One throughput run as the builders see it. */
export interface ThroughputChartRun {
  label: string;
  data: ThroughputData;
}

const DIRECTION_COLORS = { domain: ["up", "down"], range: ["#4c78a8", "#f58518"] };

/** A time span of intervals inside --omit, shaded in the charts. */
function omittedSpans(runs: readonly ThroughputChartRun[]) {
  return runs.flatMap((r) => {
    const omitted = r.data.totals.filter((t) => t.omitted);
    if (omitted.length === 0) return [];
    return [{
      run: r.label,
      t0: sig(Math.min(...omitted.map((t) => t.startS)), 6),
      t1: sig(Math.max(...omitted.map((t) => t.endS)), 6),
      what: "--omit: not counted in the totals",
    }];
  });
}

/**
 * Throughput over time, all streams of a direction summed: one line per
 * direction, and per run when runs are compared (colour = run, dash =
 * direction). The grey band is the --omit warm-up.
 */
export function throughputTotalsSpec(runs: readonly ThroughputChartRun[]): TopLevelSpec {
  const labels = runs.map((r) => r.label);
  const many = runs.length > 1;
  const rows = runs.flatMap((r) =>
    r.data.totals.map((t) => ({
      run: r.label,
      dir: t.direction,
      t: sig((t.startS + t.endS) / 2, 6),
      t0: sig(t.startS, 6),
      t1: sig(t.endS, 6),
      bps: sig(t.bitsPerSec),
      streams: t.streams,
      omitted: t.omitted ? "yes" : "no",
    }))
  );
  const spans = omittedSpans(runs);
  const x = { field: "t", type: "quantitative", title: "Time since start (s)" } as const;
  const layers: unknown[] = [];
  if (spans.length > 0) {
    layers.push({
      data: { values: spans },
      mark: { type: "rect", color: "#bbbbbb", opacity: 0.25 },
      encoding: {
        x: { field: "t0", type: "quantitative" },
        x2: { field: "t1" },
        tooltip: [
          { field: "run", type: "nominal", title: "Run" },
          { field: "what", type: "nominal", title: "Omitted" },
        ],
      },
    });
  }
  layers.push({
    data: { values: rows },
    mark: { type: "line", point: { size: 16, filled: true }, strokeWidth: 1.8 },
    encoding: {
      x,
      y: {
        field: "bps",
        type: "quantitative",
        title: "Throughput, all streams (bit/s)",
        axis: { format: "~s" },
      },
      color: many
        ? { field: "run", type: "nominal", title: "Run", scale: runColors(labels) }
        : { field: "dir", type: "nominal", title: "Direction", scale: DIRECTION_COLORS },
      ...(many
        ? {
          strokeDash: {
            field: "dir",
            type: "nominal",
            title: "Direction",
            scale: { domain: ["up", "down"], range: [[1, 0], [6, 3]] },
          },
        }
        : {}),
      detail: { field: "dir", type: "nominal" },
      tooltip: [
        { field: "run", type: "nominal", title: "Run" },
        { field: "dir", type: "nominal", title: "Direction" },
        { field: "t0", type: "quantitative", title: "From (s)", format: ".3f" },
        { field: "t1", type: "quantitative", title: "To (s)", format: ".3f" },
        { field: "bps", type: "quantitative", title: "bit/s", format: ".4~s" },
        { field: "streams", type: "quantitative", title: "Streams" },
        { field: "omitted", type: "nominal", title: "In --omit" },
      ],
    },
  });
  return {
    title: {
      text: "Throughput over time",
      subtitle:
        "All streams of each direction summed per interval; the grey band is the --omit warm-up",
    },
    width: WIDE,
    height: 240,
    config: BASE_CONFIG,
    layer: layers,
  } as TopLevelSpec;
}

/** Beyond this many streams, the colour legend would be longer than the chart. */
const MAX_STREAM_LEGEND = 16;

/**
 * Throughput of each stream over time for one run, one row per direction:
 * a starved or stalled stream is the line that lags or drops to zero.
 */
export function throughputStreamsSpec(run: ThroughputChartRun): TopLevelSpec {
  const d = run.data;
  const rows = d.points.map((p) => ({
    s: p.stream,
    w: p.worker,
    dir: p.direction,
    t: sig((p.startS + p.endS) / 2, 6),
    t0: sig(p.startS, 6),
    t1: sig(p.endS, 6),
    bps: sig(p.bitsPerSec),
    omitted: p.omitted ? "yes" : "no",
  }));
  const streams = new Set(rows.map((r) => r.s)).size;
  const merged = d.mergedBy > 1 ? `; ${d.mergedBy} intervals merged per point` : "";
  return {
    title: {
      text: `Throughput per stream: ${run.label}`,
      subtitle: `${streams} stream${streams === 1 ? "" : "s"}, one line each${merged}`,
    },
    config: BASE_CONFIG,
    data: { values: rows },
    facet: { row: { field: "dir", type: "nominal", title: "Direction", sort: ["up", "down"] } },
    spec: {
      width: WIDE - 40,
      height: 160,
      mark: { type: "line", point: { size: 10, filled: true }, strokeWidth: 1.2 },
      encoding: {
        x: { field: "t", type: "quantitative", title: "Time since start (s)" },
        y: {
          field: "bps",
          type: "quantitative",
          title: "Stream throughput (bit/s)",
          axis: { format: "~s" },
        },
        color: {
          field: "s",
          type: "nominal",
          title: "Stream",
          legend: streams <= MAX_STREAM_LEGEND ? {} : null,
          scale: streams === 1
            ? { range: [RUN_PALETTE[0]] }
            : { scheme: streams <= 10 ? "tableau10" : "tableau20" },
        },
        tooltip: [
          { field: "s", type: "quantitative", title: "Stream" },
          { field: "w", type: "quantitative", title: "Worker" },
          { field: "dir", type: "nominal", title: "Direction" },
          { field: "t0", type: "quantitative", title: "From (s)", format: ".3f" },
          { field: "t1", type: "quantitative", title: "To (s)", format: ".3f" },
          { field: "bps", type: "quantitative", title: "bit/s", format: ".4~s" },
          { field: "omitted", type: "nominal", title: "In --omit" },
        ],
      },
    },
  } as TopLevelSpec;
}

/**
 * The nodes of a merge stacked: each node's throughput (both directions)
 * per interval, bars stacked on one wall-clock axis, so the height of a
 * stack is what the nodes got together. Interval bounds are snapped to a
 * tenth of the interval, so nodes started together (within ms by
 * `--start-at`) share their bars.
 */
export function throughputByNodeSpec(runs: readonly ThroughputChartRun[]): TopLevelSpec {
  const labels = runs.map((r) => r.label);
  const lengths = runs.flatMap((r) => r.data.totals.map((t) => t.endS - t.startS));
  const step = lengths.length === 0 ? 1 : Math.max(1e-3, Math.min(...lengths.filter((l) => l > 0)));
  const snap = (s: number) => sig(snapToInterval(s, step), 6);
  const byKey = new Map<string, { node: string; t0: number; t1: number; bytes: number }>();
  for (const r of runs) {
    for (const t of r.data.totals) {
      if (t.omitted) continue;
      const t0 = snap(t.startS);
      const key = `${r.label}\n${t0}`;
      const cell = byKey.get(key) ?? { node: r.label, t0, t1: snap(t.endS), bytes: 0 };
      cell.bytes += t.bytes;
      byKey.set(key, cell);
    }
  }
  // Stacked here, in node order: a bar spanning [t0, t1] needs its own y0/y1.
  const base = new Map<number, number>();
  const values = [...byKey.values()].map((c) => {
    const bps = c.t1 > c.t0 ? c.bytes * 8 / (c.t1 - c.t0) : 0;
    const y0 = base.get(c.t0) ?? 0;
    base.set(c.t0, y0 + bps);
    return { ...c, bps: sig(bps), y0: sig(y0), y1: sig(y0 + bps) };
  });
  return {
    title: {
      text: "Throughput stacked by node",
      subtitle:
        "Each node's bits per second per interval (up and down together), on the merged time axis; a stack is what the nodes got together",
    },
    width: WIDE,
    height: 240,
    config: BASE_CONFIG,
    data: { values },
    mark: { type: "rect", stroke: "white", strokeWidth: 0.5 },
    encoding: {
      x: { field: "t0", type: "quantitative", title: "Time since the merged start (s)" },
      x2: { field: "t1" },
      y: { field: "y1", type: "quantitative", title: "Throughput (bit/s)", axis: { format: "~s" } },
      y2: { field: "y0" },
      color: { field: "node", type: "nominal", title: "Node", scale: runColors(labels) },
      tooltip: [
        { field: "node", type: "nominal", title: "Node" },
        { field: "t0", type: "quantitative", title: "From (s)", format: ".3f" },
        { field: "t1", type: "quantitative", title: "To (s)", format: ".3f" },
        { field: "bps", type: "quantitative", title: "bit/s", format: ",.4~s" },
      ],
    },
  } as TopLevelSpec;
}
