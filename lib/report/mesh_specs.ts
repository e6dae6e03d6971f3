/**
 * Vega-Lite specs of the mesh report: the heat map of source × target
 * (p50, p99 or loss, and the probe kind, switchable on the page) and the
 * SmokePing-style chart of one pair over time (median line, percentile
 * bands per interval, the median's points coloured by loss). Pure: data in,
 * specs out.
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import type { MeshBin, MeshData } from "./mesh_data.ts";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** SmokePing's loss colours: none, up to 2%, up to 10%, more. */
export const LOSS_COLORS = ["#26a269", "#1c71d8", "#9141ac", "#c01c28"] as const;

const ms = (us: number | null) => (us === null ? null : us / 1000);

/** The heat map: one cell per pair, coloured by the metric chosen on the page. */
export function meshHeatmapSpec(data: MeshData): TopLevelSpec {
  const values = data.pairs.map((p) => ({
    source: p.source,
    target: p.target,
    probe: p.probe,
    p50: ms(p.p50Us),
    p99: ms(p.p99Us),
    loss: p.lossRatio === null ? null : p.lossRatio * 100,
    count: p.count,
    probes: p.probes,
    failures: p.failures,
  }));
  const probes = [...new Set(data.pairs.map((p) => p.probe))];
  const cell = Math.max(28, Math.min(64, Math.floor(640 / Math.max(1, data.nodes.length))));
  return {
    $schema: SCHEMA,
    width: cell * data.nodes.length,
    height: cell * data.nodes.length,
    data: { values },
    params: [
      {
        name: "metric",
        value: "p99",
        bind: { input: "radio", options: ["p50", "p99", "loss"], name: "Colour by " },
      },
      {
        name: "probe",
        value: probes.includes("tcp") ? "tcp" : probes[0],
        bind: { input: "select", options: probes, name: "Probe " },
      },
    ],
    transform: [
      { filter: "datum.probe == probe" },
      { calculate: "datum[metric]", as: "value" },
      {
        calculate:
          "datum.value == null ? '–' : metric == 'loss' ? format(datum.value, '.2~f') + '%' : format(datum.value, '.3~r')",
        as: "label",
      },
    ],
    encoding: {
      x: {
        field: "target",
        type: "nominal",
        sort: data.nodes,
        title: "target (probed)",
        axis: { orient: "top", labelAngle: -40 },
      },
      y: { field: "source", type: "nominal", sort: data.nodes, title: "source (agent)" },
    },
    layer: [
      {
        mark: { type: "rect", stroke: "#fff", strokeWidth: 1 },
        encoding: {
          color: {
            field: "value",
            type: "quantitative",
            scale: { type: "symlog", scheme: "yelloworangered" },
            title: "ms (p50, p99) or % (loss)",
          },
          tooltip: [
            { field: "source" },
            { field: "target" },
            { field: "probe" },
            { field: "p50", title: "p50 ms", format: ".3~r" },
            { field: "p99", title: "p99 ms", format: ".3~r" },
            { field: "loss", title: "loss %", format: ".3~r" },
            { field: "count", title: "round trips" },
            { field: "probes" },
            { field: "failures" },
          ],
        },
      },
      {
        // Dark cells get white text: the upper half of the colour scale.
        transform: [{ joinaggregate: [{ op: "max", field: "value", as: "maxValue" }] }],
        mark: { type: "text", fontSize: 10 },
        encoding: {
          text: { field: "label" },
          color: {
            condition: { test: "datum.value > 0.5 * datum.maxValue", value: "#fff" },
            value: "#111",
          },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Rows of the pair chart: bins with round trips, in ms, with a pair name. */
function pairRows(bins: readonly MeshBin[]) {
  return bins.map((b) => ({
    pair: `${b.source} → ${b.target}`,
    probe: b.probe,
    t: b.startMs,
    p1: ms(b.p1Us),
    p10: ms(b.p10Us),
    p25: ms(b.p25Us),
    p50: ms(b.p50Us),
    p75: ms(b.p75Us),
    p90: ms(b.p90Us),
    p99: ms(b.p99Us),
    loss: b.lossRatio === null ? null : b.lossRatio * 100,
    count: b.count,
  }));
}

/** The layers of a SmokePing-style chart (data filtered by the caller). */
function smokeLayers(rows: readonly { p50: number | null; loss: number | null }[]) {
  const band = (lo: string, hi: string, opacity: number) => ({
    mark: { type: "area", color: "#3d4a5c", opacity, interpolate: "step-after" },
    encoding: {
      y: { field: lo, type: "quantitative", scale: { type: "log" }, title: "round trip, ms" },
      y2: { field: hi },
    },
  });
  // Bins where every probe failed have no round trip to draw: a red tick at the top. The layer
  // is left out when there are none (an empty layer makes Vega warn about its time extent).
  const allLost = rows.some((r) => r.p50 === null && r.loss !== null && r.loss > 0)
    ? [{
      transform: [{ filter: "datum.p50 == null && datum.loss > 0" }],
      mark: { type: "rule", color: LOSS_COLORS[3], strokeWidth: 2 },
      encoding: { y: { value: 0 }, y2: { value: 12 } },
    }]
    : [];
  return [
    ...allLost,
    {
      transform: [{ filter: "datum.p50 != null" }],
      layer: [
        band("p1", "p99", 0.12),
        band("p10", "p90", 0.22),
        band("p25", "p75", 0.4),
        {
          mark: { type: "line", color: "#222", strokeWidth: 1, interpolate: "step-after" },
          encoding: { y: { field: "p50", type: "quantitative" } },
        },
        {
          mark: { type: "point", filled: true, size: 14 },
          encoding: {
            y: { field: "p50", type: "quantitative" },
            color: {
              field: "loss",
              type: "quantitative",
              scale: { type: "threshold", domain: [1e-9, 2, 10], range: [...LOSS_COLORS] },
              title: "loss %",
              legend: { labelExpr: "datum.label == '1e-9' ? '>0' : datum.label" },
            },
            tooltip: [
              { field: "t", type: "temporal", title: "from", format: "%H:%M:%S" },
              { field: "p50", title: "median ms", format: ".3~r" },
              { field: "p10", title: "p10 ms", format: ".3~r" },
              { field: "p90", title: "p90 ms", format: ".3~r" },
              { field: "p99", title: "p99 ms", format: ".3~r" },
              { field: "loss", title: "loss %", format: ".3~r" },
              { field: "count", title: "round trips" },
            ],
          },
        },
      ],
    },
  ];
}

/**
 * One pair at a time, chosen on the page (default: the pair with the
 * highest tcp p99), over the whole window.
 */
export function meshPairSpec(data: MeshData): TopLevelSpec {
  const rows = pairRows(data.bins);
  const pairs = [...new Set(rows.map((r) => r.pair))].sort();
  const probes = [...new Set(rows.map((r) => r.probe))];
  const worst = [...data.pairs]
    .filter((p) => p.probe === "tcp" && p.p99Us !== null)
    .sort((a, b) => b.p99Us! - a.p99Us!)[0];
  return {
    $schema: SCHEMA,
    width: 1000,
    height: 260,
    data: { values: rows },
    params: [
      {
        name: "pair",
        value: worst ? `${worst.source} → ${worst.target}` : pairs[0],
        bind: { input: "select", options: pairs, name: "Pair " },
      },
      {
        name: "pairProbe",
        value: probes.includes("tcp") ? "tcp" : probes[0],
        bind: { input: "select", options: probes, name: "Probe " },
      },
    ],
    transform: [{ filter: "datum.pair == pair && datum.probe == pairProbe" }],
    encoding: {
      x: {
        field: "t",
        type: "temporal",
        title: "time",
        scale: { domain: [data.startMs, data.endMs] },
      },
    },
    layer: smokeLayers(rows),
  } as TopLevelSpec;
}

/** Small multiples: the `limit` pairs with the highest p99 of `probe`, side by side. */
export function meshSmallMultiplesSpec(data: MeshData, probe: string, limit = 36): TopLevelSpec {
  const chosen = new Set(
    data.pairs
      .filter((p) => p.probe === probe && p.p99Us !== null)
      .sort((a, b) => b.p99Us! - a.p99Us!)
      .slice(0, limit)
      .map((p) => `${p.source} → ${p.target}`),
  );
  const rows = pairRows(data.bins.filter((b) => b.probe === probe))
    .filter((r) => chosen.has(r.pair));
  return {
    $schema: SCHEMA,
    data: { values: rows },
    facet: { field: "pair", type: "nominal", title: null, sort: [...chosen] },
    columns: 3,
    spec: {
      width: 300,
      height: 110,
      encoding: {
        x: {
          field: "t",
          type: "temporal",
          title: null,
          scale: { domain: [data.startMs, data.endMs] },
        },
      },
      layer: smokeLayers(rows),
    },
    resolve: { scale: { y: "shared" } },
  } as TopLevelSpec;
}
