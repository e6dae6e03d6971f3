/**
 * Vega-Lite specs of the responsiveness charts: pure functions from an
 * aggregated responsiveness run to specs. Times are in ms here, as the
 * RPM's round trip is and as flent draws its RRUL plots: under load they
 * run to tens or hundreds of ms.
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import type { ProbeKind } from "../responsiveness/probes.ts";
import { PROBE_KINDS, type ResponsivenessData } from "./responsiveness_data.ts";
import { BASE_CONFIG, sig, WIDE } from "./specs.ts";

/** One responsiveness run as the builders see it. */
export interface ResponsivenessChartRun {
  label: string;
  data: ResponsivenessData;
}

/** Probe kinds in words, in {@linkcode PROBE_KINDS} order. */
export const PROBE_LABELS: Readonly<Record<ProbeKind, string>> = Object.freeze({
  self: "self echo",
  foreign_connect: "foreign connect",
  foreign_echo: "foreign echo",
});

const PROBE_COLORS = {
  domain: PROBE_KINDS.map((k) => PROBE_LABELS[k]),
  range: ["#4c78a8", "#54a24b", "#b279a2"],
};
const PHASE_COLORS = { domain: ["idle", "loaded"], range: ["#4c78a8", "#e45756"] };
const DIRECTION_COLORS = { domain: ["up", "down"], range: ["#4c78a8", "#f58518"] };
const LOAD_COLOR = "#f58518";
const MS_FORMAT = ",.4~r";

/** µs to ms, rounded to 5 significant digits so the embedded data stays short. */
function ms(us: number): number {
  return sig(us / 1000);
}

/**
 * Round-trip time against time since the run started, as flent's RRUL
 * plot: every probe kind's sample as dots and its median per time bin as
 * a line, on a log axis, with the load shaded and its start and end ruled.
 * When the run's JSON gave the load's throughput per interval, a panel
 * below, on the same time axis, draws it up and down. Drag to pan, scroll
 * to zoom (both panels follow).
 */
export function responsivenessTimeSpec(run: ResponsivenessChartRun): TopLevelSpec {
  const d = run.data;
  const end = sig(Math.max(0.001, d.lastEndS, d.load?.endS ?? 0) * 1.01, 4);
  const x = {
    field: "t",
    type: "quantitative",
    title: "Time since the run started (s)",
    scale: { domain: [0, end], nice: false },
    axis: { labelSeparation: 8, labelOverlap: true },
  } as const;
  const points = d.sample.map((p) => ({
    t: sig(p.t, 6),
    v: ms(p.rttUs),
    probe: PROBE_LABELS[p.probe],
    phase: p.phase,
  }));
  const medians = d.bins.map((b) => ({
    t: sig((b.startS + b.endS) / 2, 6),
    t0: sig(b.startS, 6),
    t1: sig(b.endS, 6),
    v: b.p50Us === null ? null : ms(b.p50Us),
    n: b.count,
    probe: PROBE_LABELS[b.probe],
  }));
  const color = {
    field: "probe",
    type: "nominal",
    title: "Probe",
    scale: PROBE_COLORS,
  } as const;
  const loadLayers = d.load ? loadMarks(d.load, true) : [];
  const failedLayer = d.failedSample.length === 0 ? [] : [{
    data: {
      values: d.failedSample.map((f) => ({
        t: sig(f.t, 6),
        probe: PROBE_LABELS[f.probe],
        error: f.error,
      })),
    },
    mark: { type: "point", shape: "cross", color: "#d62728", size: 40, filled: true },
    encoding: {
      x: { field: "t", type: "quantitative" },
      // Failed probes have no time: they sit on the top edge.
      y: { value: 6 },
      tooltip: [
        { field: "t", type: "quantitative", title: "Start (s)", format: ".3f" },
        { field: "probe", type: "nominal", title: "Probe" },
        { field: "error", type: "nominal", title: "Failed" },
      ],
    },
  }];
  const rttPanel = {
    width: WIDE,
    height: 300,
    layer: [
      ...loadLayers,
      {
        data: { values: points },
        params: [{ name: "zoom", select: "interval", bind: "scales", encodings: ["x"] }],
        mark: { type: "circle", size: 12, opacity: 0.45 },
        encoding: {
          x,
          y: {
            field: "v",
            type: "quantitative",
            scale: { type: "log" },
            title: "Round-trip time (ms, log scale)",
            axis: { format: "~g" },
          },
          color,
          tooltip: [
            { field: "t", type: "quantitative", title: "Start (s)", format: ".3f" },
            { field: "probe", type: "nominal", title: "Probe" },
            { field: "phase", type: "nominal", title: "Phase" },
            { field: "v", type: "quantitative", title: "Time (ms)", format: MS_FORMAT },
          ],
        },
      },
      {
        data: { values: medians },
        mark: { type: "line", strokeWidth: 1.8 },
        encoding: {
          x: { field: "t", type: "quantitative" },
          y: { field: "v", type: "quantitative" },
          color,
          tooltip: [
            { field: "probe", type: "nominal", title: "Probe" },
            { field: "t0", type: "quantitative", title: "From (s)", format: ".3f" },
            { field: "t1", type: "quantitative", title: "To (s)", format: ".3f" },
            { field: "v", type: "quantitative", title: "Median (ms)", format: MS_FORMAT },
            { field: "n", type: "quantitative", title: "Probes", format: "," },
          ],
        },
      },
      ...failedLayer,
    ],
  };
  const intervals = d.loadFacts?.intervals ?? [];
  const sampled = d.sampleOf > points.length
    ? `a uniform sample of ${points.length.toLocaleString("en-US")} of ${
      d.sampleOf.toLocaleString("en-US")
    } probes`
    : `all ${points.length.toLocaleString("en-US")} probes`;
  const loadWords = !d.load
    ? "No load phase in this run"
    : d.load.source === "json"
    ? "Shaded: the load, from the run's JSON"
    : "Shaded: from the first to the last loaded probe (no JSON beside the CSV)";
  const failedWords = d.failures === 0
    ? ""
    : `; red crosses on the top edge: ${d.failures.toLocaleString("en-US")} failed probes${
      d.failedSample.length < d.failures ? ` (${d.failedSample.length} drawn)` : ""
    }`;
  const title = {
    text: `Round-trip time over time: ${run.label}`,
    subtitle: [
      `Dots: ${sampled}; lines: median per ${
        secondsWords(d.binSeconds)
      }. ${loadWords}${failedWords}`,
      intervals.length > 0
        ? `Below: the load's throughput per ${
          secondsWords(intervals[0].endS - intervals[0].startS)
        }. Drag to pan, scroll to zoom`
        : "Drag to pan, scroll to zoom",
    ],
  };
  if (intervals.length === 0) {
    return { title, config: BASE_CONFIG, ...rttPanel } as TopLevelSpec;
  }
  const throughput = intervals.flatMap((i) => {
    const t = sig((i.startS + i.endS) / 2, 6);
    const t0 = sig(i.startS, 6);
    const t1 = sig(i.endS, 6);
    return [
      { t, t0, t1, dir: "up", bps: sig(i.upBitsPerSec) },
      { t, t0, t1, dir: "down", bps: sig(i.downBitsPerSec) },
    ];
  });
  const throughputPanel = {
    width: WIDE,
    height: 140,
    layer: [
      ...(d.load ? loadMarks(d.load, false) : []),
      {
        data: { values: throughput },
        mark: { type: "line", point: { size: 12, filled: true }, strokeWidth: 1.6 },
        encoding: {
          x,
          y: {
            field: "bps",
            type: "quantitative",
            title: "Load throughput (bit/s)",
            axis: { format: "~s" },
          },
          color: {
            field: "dir",
            type: "nominal",
            title: "Load direction",
            scale: DIRECTION_COLORS,
          },
          tooltip: [
            { field: "dir", type: "nominal", title: "Direction" },
            { field: "t0", type: "quantitative", title: "From (s)", format: ".3f" },
            { field: "t1", type: "quantitative", title: "To (s)", format: ".3f" },
            { field: "bps", type: "quantitative", title: "bit/s", format: ".4~s" },
          ],
        },
      },
    ],
  };
  return {
    title,
    config: BASE_CONFIG,
    vconcat: [rttPanel, throughputPanel],
    spacing: 8,
    resolve: { scale: { x: "shared", color: "independent" } },
  } as TopLevelSpec;
}

/** "80 ms", "2.56 s". */
function secondsWords(seconds: number): string {
  return seconds < 1 ? `${sig(seconds * 1000, 3)} ms` : `${sig(seconds, 3)} s`;
}

/** The load shaded from start to end, with a rule at each (and, on top, their names). */
function loadMarks(load: { startS: number; endS: number; source: string }, labels: boolean) {
  const t0 = sig(load.startS, 6);
  const t1 = sig(load.endS, 6);
  const tooltip = [
    { field: "what", type: "nominal", title: "Load" },
    { field: "t", type: "quantitative", title: "At (s)", format: ".3f" },
  ];
  const edges = [
    { t: t0, what: "load start" },
    { t: t1, what: "load end" },
  ];
  return [
    {
      data: { values: [{ t0, t1, seconds: sig(t1 - t0, 4) }] },
      mark: { type: "rect", color: LOAD_COLOR, opacity: 0.1 },
      encoding: {
        x: { field: "t0", type: "quantitative" },
        x2: { field: "t1" },
        tooltip: [
          { field: "t0", type: "quantitative", title: "Load from (s)", format: ".3f" },
          { field: "t1", type: "quantitative", title: "Load to (s)", format: ".3f" },
          { field: "seconds", type: "quantitative", title: "Load for (s)" },
        ],
      },
    },
    {
      data: { values: edges },
      mark: { type: "rule", color: "#8a4b08", strokeDash: [5, 3], strokeWidth: 1.4 },
      encoding: { x: { field: "t", type: "quantitative" }, tooltip },
    },
    // The names inside the load: after its start, before its end.
    ...(labels
      ? edges.map((edge, i) => ({
        data: { values: [edge] },
        mark: {
          type: "text",
          color: "#8a4b08",
          align: i === 0 ? "left" : "right",
          baseline: "top",
          dx: i === 0 ? 4 : -4,
          fontSize: 11,
        },
        encoding: {
          x: { field: "t", type: "quantitative" },
          y: { value: 16 },
          text: { field: "what", type: "nominal" },
          tooltip,
        },
      }))
      : []),
  ];
}

/**
 * Idle against loaded, per probe kind: box plots on a log axis (whisker
 * min–p99, box p25–p75, tick p50, triangle max), side by side per probe.
 */
export function responsivenessDistributionSpec(run: ResponsivenessChartRun): TopLevelSpec {
  const rows = run.data.cells.filter((c) => c.stats.count > 0).map((c) => ({
    probe: PROBE_LABELS[c.probe],
    phase: c.phase,
    n: c.stats.count,
    f: c.failed,
    min: ms(c.stats.minUs),
    p25: ms(c.p25Us),
    p50: ms(c.stats.p50Us),
    p75: ms(c.p75Us),
    p90: ms(c.stats.p90Us),
    p99: ms(c.stats.p99Us),
    max: ms(c.stats.maxUs),
  }));
  const tooltip = [
    { field: "probe", type: "nominal", title: "Probe" },
    { field: "phase", type: "nominal", title: "Phase" },
    { field: "n", type: "quantitative", title: "Probes", format: "," },
    { field: "f", type: "quantitative", title: "Failed", format: "," },
    ...(["min", "p25", "p50", "p75", "p90", "p99", "max"] as const).map((field) => ({
      field,
      type: "quantitative",
      title: `${field} (ms)`,
      format: MS_FORMAT,
    })),
  ];
  // The x axis names the phases: no legend.
  const color = {
    field: "phase",
    type: "nominal",
    title: "Phase",
    scale: PHASE_COLORS,
    legend: null,
  } as const;
  // One column per probe, idle and loaded side by side in each (xOffset would
  // leave rules and points off the bars' centres).
  return {
    title: {
      text: `Idle and loaded round trips: ${run.label}`,
      subtitle: "Whisker min–p99, box p25–p75, black bar p50, triangle max",
    },
    config: { ...BASE_CONFIG, facet: { spacing: 6 } },
    data: { values: rows },
    facet: {
      column: {
        field: "probe",
        type: "nominal",
        title: "Probe",
        sort: PROBE_COLORS.domain,
        header: { labelOrient: "bottom", titleOrient: "bottom", labelFontSize: 11 },
      },
    },
    spec: {
      width: 110,
      height: 260,
      encoding: {
        x: {
          field: "phase",
          type: "nominal",
          title: null,
          scale: { domain: PHASE_COLORS.domain, paddingInner: 0.35, paddingOuter: 0.3 },
          axis: { labelAngle: 0 },
        },
      },
      layer: [
        {
          mark: { type: "rule", strokeWidth: 1.2 },
          encoding: {
            y: {
              field: "min",
              type: "quantitative",
              scale: { type: "log" },
              title: "Round-trip time (ms, log scale)",
              axis: { format: "~g" },
            },
            y2: { field: "p99" },
            color,
            tooltip,
          },
        },
        {
          mark: { type: "bar", width: { band: 0.7 } },
          encoding: {
            y: { field: "p25", type: "quantitative" },
            y2: { field: "p75" },
            color,
            tooltip,
          },
        },
        {
          mark: { type: "tick", color: "black", thickness: 2.5 },
          encoding: { y: { field: "p50", type: "quantitative" }, tooltip },
        },
        {
          mark: { type: "point", shape: "triangle-up", size: 30, filled: false },
          encoding: { y: { field: "max", type: "quantitative" }, color, tooltip },
        },
      ],
    },
  } as TopLevelSpec;
}
