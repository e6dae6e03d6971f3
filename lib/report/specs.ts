/**
 * Vega-Lite specs of the latency and connect charts: pure functions from
 * aggregated run data to specs. Runs keep one colour across every chart
 * (`runColors`), every axis says its unit, and every mark has a tooltip.
 * Data is embedded rounded to 5 significant digits with short field names,
 * which keeps a report of a long run small.
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import type { AttemptsData, GroupStats } from "./attempts.ts";

/** What the attempts of a run are, in words for titles and tooltips. */
export interface Measure {
  /** Plural noun: "round trips", "connections". */
  events: string;
  /** The measured time: "Round-trip time", "Connect time". */
  value: string;
}

/** Words of latency runs. */
export const LATENCY_MEASURE: Readonly<Measure> = Object.freeze({
  events: "round trips",
  value: "Round-trip time",
});

/** Words of connect runs. */
export const CONNECT_MEASURE: Readonly<Measure> = Object.freeze({
  events: "connections",
  value: "Connect time",
});

/** One run as the chart builders see it. */
export interface ChartRun {
  label: string;
  data: AttemptsData;
}

/** Colours of runs, in the order given (Tableau 10). */
export const RUN_PALETTE = [
  "#4c78a8",
  "#f58518",
  "#54a24b",
  "#e45756",
  "#72b7b2",
  "#b279a2",
  "#eeca3b",
  "#9d755d",
  "#ff9da6",
  "#bab0ac",
] as const;

/** A colour scale that gives each run label the same colour in every chart. */
export function runColors(labels: readonly string[]): { domain: string[]; range: string[] } {
  return { domain: [...labels], range: labels.map((_, i) => RUN_PALETTE[i % RUN_PALETTE.length]) };
}

/** Chart sizes, px. */
export const WIDE = 860;
export const HALF = 400;

/** Rounds to `digits` significant digits, so embedded data stays short. */
export function sig(value: number, digits = 5): number {
  return Number.isFinite(value) && value !== 0 ? Number(value.toPrecision(digits)) : value;
}

/** Shared look: readable axes, legends below the plot. */
export const BASE_CONFIG = {
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: "bottom" },
  title: { fontSize: 14, subtitleFontSize: 11, anchor: "start" },
  view: { stroke: "#ddd" },
} as const;

const US_FORMAT = ",.4~r";

/** A value axis on a log scale, in µs, titled for the measure. */
function logValueAxis(field: string, measure: Measure) {
  return {
    field,
    type: "quantitative",
    scale: { type: "log" },
    title: valueAxisTitle(measure),
    axis: { format: "~s" },
  } as const;
}

function valueAxisTitle(measure: Measure): string {
  return `${measure.value} (µs, log scale)`;
}

function colorEncoding(labels: readonly string[]) {
  return {
    field: "run",
    type: "nominal",
    title: "Run",
    scale: runColors(labels),
    legend: labels.length > 1 ? {} : null,
  } as const;
}

/**
 * Chart 1: the distribution on a log axis, 20 bins per decade. One run:
 * bars of counts. Several: each run's share per bin as a step outline over
 * a light fill, so runs of different lengths compare.
 */
export function histogramSpec(runs: readonly ChartRun[], measure: Measure): TopLevelSpec {
  const labels = runs.map((r) => r.label);
  const rows = runs.flatMap((r) =>
    r.data.histogram.map((b) => ({
      run: r.label,
      lo: sig(b.lowUs),
      hi: sig(b.highUs),
      n: b.count,
      pct: sig(b.percent, 4),
    }))
  );
  const xAxis = {
    field: "lo",
    type: "quantitative",
    scale: { type: "log" },
    title: valueAxisTitle(measure),
    axis: { format: "~s" },
  } as const;
  const tooltip = [
    { field: "run", type: "nominal", title: "Run" },
    { field: "lo", type: "quantitative", title: "From (µs)", format: US_FORMAT },
    { field: "hi", type: "quantitative", title: "To (µs)", format: US_FORMAT },
    { field: "n", type: "quantitative", title: capitalize(measure.events), format: "," },
    { field: "pct", type: "quantitative", title: "Share (%)", format: ".3~r" },
  ] as const;
  const total = runs.reduce((a, r) => a + r.data.successes, 0);
  const title = {
    text: `${measure.value} distribution`,
    subtitle: runs.length === 1
      ? `${total.toLocaleString("en-US")} successful ${measure.events}, 20 bins per factor of ten`
      : `Share of each run's ${measure.events} per bin (20 bins per factor of ten)`,
  };
  if (runs.length === 1) {
    return {
      title,
      width: HALF,
      height: 240,
      config: BASE_CONFIG,
      data: { values: rows },
      mark: { type: "rect", color: RUN_PALETTE[0], stroke: "white", strokeWidth: 0.5 },
      encoding: {
        x: xAxis,
        x2: { field: "hi" },
        y: { field: "n", type: "quantitative", title: `${capitalize(measure.events)} per bin` },
        tooltip: [...tooltip],
      },
    } as TopLevelSpec;
  }
  // Step outlines: from zero at the first bin's edge, along each bin, back to zero.
  const outline = runs.flatMap((r) => {
    const bins = r.data.histogram;
    if (bins.length === 0) return [];
    const last = bins[bins.length - 1];
    return [
      { run: r.label, x: sig(bins[0].lowUs), pct: 0, i: 0 },
      ...bins.map((b, k) => ({ run: r.label, x: sig(b.lowUs), pct: sig(b.percent, 4), i: k + 1 })),
      { run: r.label, x: sig(last.highUs), pct: sig(last.percent, 4), i: bins.length + 1 },
      { run: r.label, x: sig(last.highUs), pct: 0, i: bins.length + 2 },
    ];
  });
  return {
    title,
    width: HALF,
    height: 240,
    config: BASE_CONFIG,
    layer: [
      {
        data: { values: rows },
        mark: { type: "rect", opacity: 0.18 },
        encoding: {
          x: xAxis,
          x2: { field: "hi" },
          y: { field: "pct", type: "quantitative", title: `Share of ${measure.events} (%)` },
          color: colorEncoding(labels),
          tooltip: [...tooltip],
        },
      },
      {
        data: { values: outline },
        mark: { type: "line", interpolate: "step-after", strokeWidth: 1.6 },
        encoding: {
          x: { field: "x", type: "quantitative" },
          y: { field: "pct", type: "quantitative" },
          order: { field: "i", type: "quantitative" },
          color: colorEncoding(labels),
        },
      },
    ],
  } as TopLevelSpec;
}

/**
 * Chart 2: the percentile spectrum, HdrHistogram's standard latency plot:
 * value against percentile on a 1/(1 − p) log axis, p0 to p99.999, one
 * line per run.
 */
export function spectrumSpec(runs: readonly ChartRun[], measure: Measure): TopLevelSpec {
  const labels = runs.map((r) => r.label);
  const rows = runs.flatMap((r) =>
    r.data.spectrum.map((p) => ({
      run: r.label,
      x: sig(p.inverseTail),
      p: Number(p.percentile.toFixed(5)),
      v: sig(p.valueUs),
      beyond: p.beyond,
    }))
  );
  const top = Math.max(10, ...rows.map((r) => r.x));
  const decades = Math.min(5, Math.ceil(Math.log10(top) - 1e-9));
  const ticks = Array.from({ length: decades + 1 }, (_, i) => 10 ** i);
  return {
    title: {
      text: `${measure.value} by percentile`,
      subtitle:
        "Percentiles spread on a 1/(1−p) axis, so the tail gets room; fewer than 10 samples above a point: do not trust it",
    },
    width: HALF,
    height: 240,
    config: BASE_CONFIG,
    data: { values: rows },
    mark: { type: "line", point: { size: 14, filled: true }, strokeWidth: 1.6 },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        scale: { type: "log", domain: [1, 10 ** decades] },
        axis: {
          values: ticks,
          labelExpr: "format(100 - 100 / datum.value, '.6~r') + '%'",
          title: "Percentile (1/(1−p) log scale)",
        },
      },
      y: logValueAxis("v", measure),
      color: colorEncoding(labels),
      tooltip: [
        { field: "run", type: "nominal", title: "Run" },
        { field: "p", type: "quantitative", title: "Percentile", format: ".5~f" },
        { field: "v", type: "quantitative", title: `${measure.value} (µs)`, format: US_FORMAT },
        {
          field: "beyond",
          type: "quantitative",
          title: `${capitalize(measure.events)} above`,
          format: ",",
        },
      ],
    },
  } as TopLevelSpec;
}

/**
 * Chart 3: values over time for one run: the uniform sample as points,
 * with the per-bin p50, p99 and maximum over them. Drag to zoom.
 */
export function overTimeSpec(run: ChartRun, measure: Measure): TopLevelSpec {
  const d = run.data;
  const points = d.sample.map((s) => ({
    t: sig(s.t, 6),
    v: sig(s.valueUs),
    w: s.worker,
    c: s.connection,
  }));
  // A bin without successes is a null: the lines break there instead of
  // bridging the gap.
  const lines = d.bins.flatMap((b) => {
    const t = sig((b.startS + b.endS) / 2, 6);
    const v = (us: number | null) => (us === null ? null : sig(us));
    return [
      { t, stat: "p50", v: v(b.p50Us) },
      { t, stat: "p99", v: v(b.p99Us) },
      { t, stat: "max", v: v(b.maxUs) },
    ];
  });
  const bin = binWords(d.binSeconds);
  const sampled = d.sampleOf > points.length
    ? `a uniform sample of ${points.length.toLocaleString("en-US")} of ${
      d.sampleOf.toLocaleString("en-US")
    }`
    : `all ${points.length.toLocaleString("en-US")}`;
  const pointTooltip = [
    { field: "t", type: "quantitative", title: "Start (s)", format: ".4f" },
    { field: "v", type: "quantitative", title: `${measure.value} (µs)`, format: US_FORMAT },
    { field: "w", type: "quantitative", title: "Worker" },
    ...(d.connections.length > 0
      ? [{ field: "c", type: "quantitative", title: "Connection" }]
      : []),
  ];
  return {
    title: {
      text: `${measure.value} over time: ${run.label}`,
      subtitle:
        `Dots: ${sampled} ${measure.events}. Lines: p50, p99 and max ${bin}. Drag to pan, scroll to zoom`,
    },
    width: WIDE,
    height: 280,
    config: BASE_CONFIG,
    layer: [
      {
        data: { values: points },
        params: [{ name: "zoom", select: "interval", bind: "scales" }],
        mark: { type: "circle", size: 7, opacity: 0.35, color: "#7f8fa6" },
        encoding: {
          x: {
            field: "t",
            type: "quantitative",
            title: "Time since start (s)",
            scale: { domain: [0, sig(Math.max(0.001, d.lastEndS), 4)], nice: false },
          },
          y: logValueAxis("v", measure),
          tooltip: pointTooltip,
        },
      },
      {
        data: { values: lines },
        mark: { type: "line", strokeWidth: 1.8, point: { size: 10, filled: true } },
        encoding: {
          x: { field: "t", type: "quantitative" },
          y: { field: "v", type: "quantitative" },
          color: {
            field: "stat",
            type: "nominal",
            title: `Per ${bin.replace(/^per /, "")}`,
            scale: { domain: ["p50", "p99", "max"], range: ["#1f4e9c", "#f58518", "#d62728"] },
          },
          tooltip: [
            { field: "t", type: "quantitative", title: "Bin middle (s)", format: ".2f" },
            { field: "stat", type: "nominal", title: "Statistic" },
            { field: "v", type: "quantitative", title: `${measure.value} (µs)`, format: US_FORMAT },
          ],
        },
      },
    ],
  } as TopLevelSpec;
}

/**
 * Values over time of several runs on one chart, one colour per run (the
 * nodes of a merge): p50 per time bin as a line, p99 dashed. A bin with no
 * success is a null, so a line breaks at a gap instead of bridging it.
 */
export function runsOverTimeSpec(runs: readonly ChartRun[], measure: Measure): TopLevelSpec {
  const labels = runs.map((r) => r.label);
  const rows = runs.flatMap((r) =>
    r.data.bins.flatMap((b) => {
      const t = sig((b.startS + b.endS) / 2, 6);
      const v = (us: number | null) => (us === null ? null : sig(us));
      return [
        { run: r.label, t, stat: "p50", v: v(b.p50Us), n: b.count },
        { run: r.label, t, stat: "p99", v: v(b.p99Us), n: b.count },
      ];
    })
  );
  const end = Math.max(0.001, ...runs.map((r) => r.data.lastEndS));
  const bins = [...new Set(runs.map((r) => binWords(r.data.binSeconds)))].join(" / ");
  return {
    title: {
      text: `${measure.value} over time, by ${runs.length > 1 ? "run" : "bin"}`,
      subtitle:
        `p50 (solid) and p99 (dashed) ${bins}, one colour per run or node; gaps are bins without a success`,
    },
    width: WIDE,
    height: 260,
    config: BASE_CONFIG,
    data: { values: rows },
    mark: { type: "line", strokeWidth: 1.6, point: { size: 10, filled: true } },
    encoding: {
      x: {
        field: "t",
        type: "quantitative",
        title: "Time since start (s)",
        scale: { domain: [0, sig(end, 4)], nice: false },
      },
      y: logValueAxis("v", measure),
      color: colorEncoding(labels),
      strokeDash: {
        field: "stat",
        type: "nominal",
        title: "Statistic",
        scale: { domain: ["p50", "p99"], range: [[1, 0], [5, 3]] },
      },
      detail: { field: "run", type: "nominal" },
      tooltip: [
        { field: "run", type: "nominal", title: "Run" },
        { field: "t", type: "quantitative", title: "Bin middle (s)", format: ".2f" },
        { field: "stat", type: "nominal", title: "Statistic" },
        { field: "v", type: "quantitative", title: `${measure.value} (µs)`, format: US_FORMAT },
        { field: "n", type: "quantitative", title: `Successful ${measure.events}` },
      ],
    },
  } as TopLevelSpec;
}

/** "per second", "per 2 s" … */
export function binWords(seconds: number): string {
  return seconds === 1 ? "per second" : `per ${seconds} s`;
}

/** Beyond this many groups, ids go on a quantitative axis (a bar per id would be too thin). */
const MAX_BANDS = 48;

/**
 * Chart 4: the distribution of each worker or connection, box-plot style:
 * whisker from min to p99, box p25–p75, a tick at p50, a triangle at the
 * max; below it, the successes and failures of each. An unfair or stalled
 * one stands out as a taller box, a higher max, or a shorter bar.
 */
export function groupsSpec(
  run: ChartRun,
  measure: Measure,
  by: "worker" | "connection",
): TopLevelSpec {
  const groups: readonly GroupStats[] = by === "worker" ? run.data.workers : run.data.connections;
  const rows = groups.map((g) => ({
    id: g.id,
    w: g.worker,
    n: g.count,
    f: g.failed,
    min: sig(g.minUs),
    p25: sig(g.p25Us),
    p50: sig(g.p50Us),
    p75: sig(g.p75Us),
    p99: sig(g.p99Us),
    max: sig(g.maxUs),
    mean: sig(g.meanUs),
  }));
  const withValues = rows.filter((r) => r.n > 0);
  const banded = rows.length <= MAX_BANDS;
  const ids = rows.map((r) => r.id);
  const idTitle = by === "worker" ? "Worker" : "Connection";
  const x = banded ? { field: "id", type: "ordinal", title: idTitle, scale: { domain: ids } } : {
    field: "id",
    type: "quantitative",
    title: idTitle,
    scale: { domain: [Math.min(...ids) - 0.5, Math.max(...ids) + 0.5], nice: false, zero: false },
    axis: { format: "d" },
  };
  const workers = new Set(rows.map((r) => r.w)).size;
  const color = by === "connection" && workers > 1
    ? {
      field: "w",
      type: "nominal",
      title: "Worker",
      legend: workers <= 16 ? {} : null,
      scale: { scheme: "tableau10" },
    }
    : { value: RUN_PALETTE[0] };
  const tooltip = [
    { field: "id", type: "quantitative", title: idTitle },
    ...(by === "connection" ? [{ field: "w", type: "quantitative", title: "Worker" }] : []),
    { field: "n", type: "quantitative", title: capitalize(measure.events), format: "," },
    { field: "f", type: "quantitative", title: "Failed", format: "," },
    ...(["min", "p25", "p50", "p75", "p99", "max", "mean"] as const).map((field) => ({
      field,
      type: "quantitative",
      title: `${field} (µs)`,
      format: US_FORMAT,
    })),
  ];
  const width = banded ? Math.min(WIDE, Math.max(160, rows.length * 28)) : WIDE;
  const boxWidth = banded ? 12 : Math.max(1, Math.min(8, (WIDE / rows.length) * 0.6));
  const y = (field: string) => ({ field, type: "quantitative" });
  const shown = groups.length < run.data.connectionsTotal && by === "connection"
    ? `, the ${groups.length.toLocaleString("en-US")} most notable of ${
      run.data.connectionsTotal.toLocaleString("en-US")
    } (highest p99, fewest ${measure.events}, most failures)`
    : "";
  return {
    title: {
      text: `${measure.value} per ${by}: ${run.label}`,
      subtitle: `Whisker min–p99, box p25–p75, tick p50, triangle max${shown}`,
    },
    config: BASE_CONFIG,
    vconcat: [
      {
        width,
        height: 220,
        data: { values: withValues },
        encoding: { x },
        layer: [
          {
            mark: { type: "rule", strokeWidth: 1 },
            encoding: {
              y: logValueAxis("min", measure),
              y2: { field: "p99" },
              color,
              tooltip,
            },
          },
          {
            mark: banded
              ? { type: "bar", size: boxWidth }
              : { type: "rule", strokeWidth: boxWidth },
            encoding: { y: y("p25"), y2: { field: "p75" }, color, tooltip },
          },
          {
            mark: banded
              ? { type: "tick", color: "black", thickness: 2, size: boxWidth + 4 }
              : { type: "point", color: "black", size: 10, filled: true },
            encoding: { y: y("p50"), tooltip },
          },
          {
            mark: { type: "point", shape: "triangle-up", size: 24, filled: false },
            encoding: { y: y("max"), color, tooltip },
          },
        ],
      },
      {
        width,
        height: 90,
        data: { values: rows },
        transform: [
          { fold: ["n", "f"], as: ["outcome", "count"] },
          { calculate: "datum.outcome === 'n' ? 'succeeded' : 'failed'", as: "outcome" },
        ],
        mark: banded ? { type: "bar", size: boxWidth } : { type: "bar", width: boxWidth },
        encoding: {
          x: { ...x, axis: banded ? { labels: rows.length <= 24 } : { format: "d" } },
          y: {
            field: "count",
            type: "quantitative",
            title: capitalize(measure.events),
            stack: "zero",
          },
          color: {
            field: "outcome",
            type: "nominal",
            title: "Outcome",
            scale: { domain: ["succeeded", "failed"], range: ["#9bb3cf", "#d62728"] },
          },
          tooltip: [
            { field: "id", type: "quantitative", title: idTitle },
            { field: "outcome", type: "nominal", title: "Outcome" },
            { field: "count", type: "quantitative", title: "Count", format: "," },
          ],
        },
      },
    ],
    resolve: { scale: { color: "independent" } },
  } as TopLevelSpec;
}

/**
 * Chart 5: successes and failures per second over time, one line per run:
 * a drop in rate with a rise in errors is the story of an outage.
 */
export function ratesSpec(runs: readonly ChartRun[], measure: Measure): TopLevelSpec {
  const labels = runs.map((r) => r.label);
  const rows = runs.flatMap((r) =>
    r.data.bins.map((b) => ({
      run: r.label,
      t: sig((b.startS + b.endS) / 2, 6),
      ok: sig(b.perSec),
      err: sig(b.failedPerSec),
      kinds: Object.entries(b.errors).map(([k, n]) => `${k} ${n}`).join(", ") || "none",
    }))
  );
  const failures = runs.reduce((a, r) => a + r.data.failures, 0);
  const end = Math.max(0.001, ...runs.map((r) => r.data.lastEndS));
  const bins = [...new Set(runs.map((r) => binWords(r.data.binSeconds)))].join(" / ");
  const x = {
    field: "t",
    type: "quantitative" as const,
    title: "Time since start (s)",
    scale: { domain: [0, sig(end, 4)], nice: false },
  };
  const tooltip = [
    { field: "run", type: "nominal", title: "Run" },
    { field: "t", type: "quantitative", title: "Bin middle (s)", format: ".2f" },
    {
      field: "ok",
      type: "quantitative",
      title: `${capitalize(measure.events)}/s`,
      format: ",.4~r",
    },
    { field: "err", type: "quantitative", title: "Failed/s", format: ",.4~r" },
    { field: "kinds", type: "nominal", title: "Failures by kind" },
  ];
  return {
    title: {
      text: `${capitalize(measure.events)} and failures per second`,
      subtitle: `Counted ${bins} by start time`,
    },
    config: BASE_CONFIG,
    data: { values: rows },
    vconcat: [
      {
        width: WIDE,
        height: 200,
        mark: { type: "line", point: { size: 12, filled: true }, strokeWidth: 1.6 },
        encoding: {
          x,
          y: {
            field: "ok",
            type: "quantitative",
            title: `Successful ${measure.events} per second`,
          },
          color: colorEncoding(labels),
          tooltip,
        },
      },
      {
        width: WIDE,
        height: 110,
        title: {
          text: failures === 0
            ? "No failed attempts"
            : `${failures.toLocaleString("en-US")} failed attempts`,
          fontSize: 12,
        },
        mark: { type: "line", point: { size: 12, filled: true }, strokeWidth: 1.6 },
        encoding: {
          x,
          y: {
            field: "err",
            type: "quantitative",
            title: "Failed attempts per second",
            // With no failure at all, a 0–1 axis instead of a degenerate one.
            ...(failures === 0 ? { scale: { domain: [0, 1] }, axis: { format: "~g" } } : {}),
          },
          color: colorEncoding(labels),
          tooltip,
        },
      },
    ],
  } as TopLevelSpec;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
