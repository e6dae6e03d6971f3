/**
 * The mesh report page: what agents' hlog directories say about every
 * pair, as a heat map of source × target, one pair's SmokePing-style
 * chart, small multiples of the slowest pairs, and a table. Same shell as
 * the run report (style, inlined libraries, one boot script), so it works
 * offline.
 *
 * @module
 */
import {
  BOOT,
  type ChartEntry,
  escapeHtml,
  type InlineScript,
  pageHead,
  scriptJson,
} from "./html.ts";
import type { MeshData, MeshPair } from "./mesh_data.ts";
import { meshHeatmapSpec, meshPairSpec, meshSmallMultiplesSpec } from "./mesh_specs.ts";
import { formatInteger } from "./format.ts";

/** What the mesh page shows. */
export interface MeshReportModel {
  title: string;
  generatedAt: string;
  version: string;
  /** The folders read. */
  inputs: string[];
  data: MeshData;
}

const fmtMs = (us: number | null) => (us === null ? "–" : (us / 1000).toPrecision(3));
const fmtPct = (ratio: number | null) => (ratio === null ? "–" : `${(ratio * 100).toFixed(2)}%`);

function pairTable(pairs: readonly MeshPair[]): string {
  const rows = [...pairs].sort((a, b) => (b.p99Us ?? -1) - (a.p99Us ?? -1)).map((p) =>
    `<tr><td>${escapeHtml(p.source)} → ${escapeHtml(p.target)}</td><td>${
      escapeHtml(p.probe)
    }</td><td>${formatInteger(p.count)}</td><td>${fmtMs(p.p50Us)}</td><td>${
      fmtMs(p.p99Us)
    }</td><td>${formatInteger(p.probes)}</td><td>${formatInteger(p.failures)}</td><td>${
      fmtPct(p.lossRatio)
    }</td></tr>`
  ).join("\n");
  return `<div class="scroll"><table class="figures"><thead><tr><th>pair</th><th>probe</th><th>round trips</th><th>p50 ms</th><th>p99 ms</th><th>probes</th><th>failed</th><th>loss / failed</th></tr></thead><tbody>
${rows}
</tbody></table></div>`;
}

/** The complete, self-contained mesh page. */
export function renderMeshHtml(model: MeshReportModel, scripts: readonly InlineScript[]): string {
  const { data } = model;
  const charts: ChartEntry[] = [];
  const chart = (id: string, spec: ChartEntry["spec"]) => {
    charts.push({ id, spec, renderer: "svg" });
    return `<div class="chart" id="${id}"></div>`;
  };
  const sources = new Set(data.pairs.map((p) => p.source));
  const worst = [...data.pairs].filter((p) => p.probe === "tcp" && p.p99Us !== null)
    .sort((a, b) => b.p99Us! - a.p99Us!)[0];
  const lossiest = [...data.pairs].filter((p) => p.lossRatio !== null && p.lossRatio > 0)
    .sort((a, b) => b.lossRatio! - a.lossRatio!)[0];
  const window = `${new Date(data.startMs).toISOString()} to ${new Date(data.endMs).toISOString()}`;
  const headlines = [
    `${sources.size} agent${sources.size === 1 ? "" : "s"}, ${data.nodes.length} nodes, ${
      formatInteger(new Set(data.pairs.map((p) => `${p.source} ${p.target}`)).size)
    } pairs, ${window}`,
    worst
      ? `Slowest pair (tcp p99): <b>${escapeHtml(worst.source)} → ${
        escapeHtml(worst.target)
      }</b>, p99 ${fmtMs(worst.p99Us)} ms, p50 ${fmtMs(worst.p50Us)} ms`
      : "No tcp round trips recorded",
    lossiest
      ? `Most failures: <b>${escapeHtml(lossiest.source)} → ${escapeHtml(lossiest.target)}</b> ${
        escapeHtml(lossiest.probe)
      }, ${fmtPct(lossiest.lossRatio)} of ${formatInteger(lossiest.probes)} probes`
      : "No probe failed and no datagram was lost",
  ];
  const probe = data.pairs.some((p) => p.probe === "tcp") ? "tcp" : data.pairs[0]?.probe ?? "tcp";
  const body = `<section id="glance"><h2>At a glance</h2><ul class="headlines">${
    headlines.map((h) => `<li>${h}</li>`).join("")
  }</ul></section>
<section id="heatmap"><h2>Pairs: source × target</h2>
<p class="note">Each cell is one agent (row) probing one peer (column) over the whole window: p50 and p99 in ms from the exact sum of the interval histograms, loss as the share of probes that failed (for udp: datagrams not echoed in time). Switch the metric and the probe kind below the map.</p>
${chart("mesh-heatmap", meshHeatmapSpec(data))}</section>
<section id="pair"><h2>One pair over time</h2>
<p class="note">SmokePing-style: the line is the median of each ${
    (data.binMs / 1000).toFixed(0)
  } s bin, the bands hold 25–75%, 10–90% and 1–99% of its round trips, and the median's dots are coloured by loss (green none, blue up to 2%, purple up to 10%, red more). Choose the pair and the probe kind below the chart.</p>
${chart("mesh-pair", meshPairSpec(data))}</section>
<section id="pairs"><h2>Slowest pairs (${escapeHtml(probe)}, by p99)</h2>
${chart("mesh-multiples", meshSmallMultiplesSpec(data, probe))}</section>
<section id="table"><h2>Every pair</h2>${pairTable(data.pairs)}</section>
<section id="about"><h2>Inputs</h2><p class="note">${
    model.inputs.map(escapeHtml).join(", ")
  }: ${data.files.hlogs} interval logs, ${data.files.counts} counts files. A bin whose probes all failed shows as a red tick at the top of its pair chart.</p></section>`;
  const drawnWith = scripts.map((s) => `${s.name} ${s.version}`).join(", ");
  return `${pageHead(model.title, scripts)}
<header><h1>${escapeHtml(model.title)}</h1><p>mesh of netspeed agents · built ${
    escapeHtml(model.generatedAt)
  } by netspeed ${escapeHtml(model.version)} · drawn with ${
    escapeHtml(drawnWith)
  }, inlined: this file needs no network</p></header>
<main>
${body}
</main>
<script type="application/json" id="netspeed-charts">${
    scriptJson(charts.map((c) => ({ id: c.id, renderer: c.renderer, spec: c.spec })))
  }</script>
<script>${BOOT}</script>
</body>
</html>
`;
}
