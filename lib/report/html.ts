/**
 * The report page: one HTML string with the Vega, Vega-Lite and vega-embed
 * JavaScript inlined, the chart specs as JSON, tables, and the metadata of
 * every run. Nothing on the page refers to the network, so it opens from
 * disk (file://) with no connection at all. Pure: model and scripts in,
 * HTML out.
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import { formatBitsPerSec } from "../table.ts";
import type { AttemptsRun, ReportRun, ResponsivenessRun, ThroughputRun } from "./load_run.ts";
import { comparisonsOf, type RunComparison } from "./compare.ts";
import { formatInterval, formatSigned, formatValue, formatVerdict } from "../compare/format.ts";
import {
  formatChange,
  formatDuration,
  formatInteger,
  formatPerSec,
  formatSeconds,
} from "./format.ts";
import {
  binWords,
  CONNECT_MEASURE,
  groupsSpec,
  histogramSpec,
  LATENCY_MEASURE,
  type Measure,
  overTimeSpec,
  ratesSpec,
  runsOverTimeSpec,
  spectrumSpec,
} from "./specs.ts";
import {
  throughputByNodeSpec,
  throughputStreamsSpec,
  throughputTotalsSpec,
} from "./throughput_specs.ts";
import { PHASES, PROBE_KINDS, type RpmResult } from "./responsiveness_data.ts";
import {
  PROBE_LABELS,
  responsivenessDistributionSpec,
  responsivenessTimeSpec,
} from "./responsiveness_specs.ts";

/** What the page shows. */
export interface ReportModel {
  title: string;
  /** ISO 8601 time the report was built. */
  generatedAt: string;
  /** netspeed's version. */
  version: string;
  runs: ReportRun[];
}

/** A JavaScript library inlined into the page. */
export interface InlineScript {
  name: string;
  version: string;
  code: string;
}

/** One chart: where it goes and what it draws. */
export interface ChartEntry {
  id: string;
  spec: TopLevelSpec;
  /** Canvas for charts of many points (the scatter), SVG for the rest. */
  renderer: "svg" | "canvas";
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON safe inside a `<script>` element: `<` is written `\u003c`, so no
 * `</script>` or `<!--` in the data can end or confuse the element.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * A library's code made safe to inline: its source-map comment (which a
 * browser's developer tools would try to load) removed, and any `</script`
 * escaped (in a string or regular expression, `<\/` means the same).
 */
export function inlineScriptCode(code: string): string {
  return code
    .replace(/\n?\/\/# sourceMappingURL=\S*\s*$/, "\n")
    .replace(/<\/script/gi, "<\\/script");
}

/** The charts of the report, in page order, with the HTML around them. */
export function buildReportBody(
  runs: readonly ReportRun[],
): { html: string; charts: ChartEntry[] } {
  const charts: ChartEntry[] = [];
  const chart = (id: string, spec: TopLevelSpec, renderer: "svg" | "canvas" = "svg") => {
    charts.push({ id, spec, renderer });
    return `<div class="chart" id="${id}"></div>`;
  };
  const latency = runs.filter((r): r is AttemptsRun => r.kind === "latency");
  const connect = runs.filter((r): r is AttemptsRun => r.kind === "connect");
  const throughput = runs.filter((r): r is ThroughputRun => r.kind === "throughput");
  const responsiveness = runs.filter((r): r is ResponsivenessRun => r.kind === "responsiveness");
  const parts: string[] = [glanceSection(runs)];
  if (latency.length > 0) {
    parts.push(attemptsSection("latency", "Latency", latency, LATENCY_MEASURE, chart, true));
  }
  if (throughput.length > 0) parts.push(throughputSection(throughput, chart));
  if (connect.length > 0) {
    parts.push(
      attemptsSection("connect", "Connection set-up", connect, CONNECT_MEASURE, chart, false),
    );
  }
  if (responsiveness.length > 0) parts.push(responsivenessSection(responsiveness, chart));
  parts.push(metadataSection(runs));
  return { html: parts.join("\n"), charts };
}

type ChartSlot = (id: string, spec: TopLevelSpec, renderer?: "svg" | "canvas") => string;

function headline(run: ReportRun): string {
  const label = `<b>${escapeHtml(run.label)}</b>`;
  if (run.kind === "throughput") {
    const dirs = run.data.directions.map((d) =>
      `${d.direction} <b>${formatBitsPerSec(d.bitsPerSec)}</b> over ${d.streams} stream${
        d.streams === 1 ? "" : "s"
      } (slowest stream ${formatBitsPerSec(d.minStreamBitsPerSec)}, fastest ${
        formatBitsPerSec(d.maxStreamBitsPerSec)
      }${d.emptyIntervals > 0 ? `, ${d.emptyIntervals} empty intervals` : ""})`
    );
    return `${label}: ${dirs.join("; ") || "no measured interval"}.`;
  }
  if (run.kind === "responsiveness") return responsivenessHeadline(run);
  const d = run.data;
  const s = d.stats;
  const measure = run.kind === "latency" ? LATENCY_MEASURE : CONNECT_MEASURE;
  const failed = d.failures === 0
    ? "no failures"
    : `<span class="bad">${formatInteger(d.failures)} failed (${errorList(d.errors)})</span>`;
  const figures = d.successes === 0
    ? "nothing succeeded"
    : `p50 <b>${formatDuration(s.p50Us)}</b>, p99 <b>${formatDuration(s.p99Us)}</b>, p99.9 ${
      formatDuration(s.p999Us)
    }, max ${formatDuration(s.maxUs)}`;
  return `${label}: ${formatInteger(d.successes)} ${measure.events} in ${
    formatSeconds(d.spanSeconds)
  } (${formatPerSec(d.ratePerSec)}); ${figures}; ${failed}.`;
}

function errorList(errors: Record<string, number>): string {
  return Object.entries(errors).sort((a, b) => b[1] - a[1]).map(([k, n]) =>
    `${escapeHtml(k)} ${formatInteger(n)}`
  ).join(", ");
}

function glanceSection(runs: readonly ReportRun[]): string {
  const items = runs.map((r) => `<li>${headline(r)}</li>`);
  const verdicts: string[] = [];
  for (const kind of ["latency", "connect", "throughput", "responsiveness"] as const) {
    const same = runs.filter((r) => r.kind === kind);
    for (const c of comparisonsOf(same)) {
      const rows = c.comparison.rows;
      const called = rows.some((r) => r.verdict === "better" || r.verdict === "worse");
      const words = rows.map((r) =>
        `${r.kind === "latency" || r.kind === "connect" ? "" : `${r.group} `}${r.metric} ${
          formatSigned(r.difference, r.unit)
        } (${formatChange(r.changePercent)}${
          r.low === null ? "" : `, interval ${formatInterval(r)}`
        }): ${formatVerdict(r)}`
      );
      verdicts.push(
        `<li class="verdict ${called ? "real" : "noise"}">${
          escapeHtml(`${c.other} compared with ${c.base}: ${words.join("; ")}.`)
        }</li>`,
      );
    }
  }
  const warnings: string[] = [];
  for (const r of runs) {
    if (r.malformed.count > 0) {
      const examples = r.malformed.examples.map((e) => `line ${e.line}: ${e.reason}`).join("; ");
      warnings.push(
        `${r.label}: ${formatInteger(r.malformed.count)} malformed row${
          r.malformed.count === 1 ? "" : "s"
        } of ${formatInteger(r.rowsRead)} skipped (${examples}${
          r.malformed.count > r.malformed.examples.length ? "; …" : ""
        })`,
      );
    }
    for (const note of r.notes) warnings.push(`${r.label}: ${note}`);
    for (const w of r.meta.warnings) warnings.push(`${r.label}: the run warned: ${w}`);
    if (
      (r.kind === "latency" || r.kind === "connect") && r.data.successes > 0 &&
      r.data.stats.untrustedPercentiles.length > 0
    ) {
      warnings.push(
        `${r.label}: ${
          r.data.stats.untrustedPercentiles.join(", ")
        } rest on fewer than 10 samples each: do not trust them`,
      );
    }
  }
  return `<section id="glance"><h2>At a glance</h2><ul class="headlines">${items.join("")}</ul>${
    verdicts.length > 0 ? `<ul class="verdicts">${verdicts.join("")}</ul>` : ""
  }${
    warnings.length > 0
      ? `<div class="warnings"><b>Read with care</b><ul>${
        warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")
      }</ul></div>`
      : ""
  }</section>`;
}

function attemptsSection(
  id: string,
  heading: string,
  runs: readonly AttemptsRun[],
  measure: Measure,
  chart: ChartSlot,
  perConnection: boolean,
): string {
  const chartRuns = runs.map((r) => ({ label: r.label, data: r.data }));
  const parts = [`<section id="${id}"><h2>${heading}</h2>`];
  const comparisons = comparisonsOf(runs);
  if (comparisons.length > 0) parts.push(differencesTable(comparisons, measure.events));
  parts.push(summaryTable(runs, measure));
  parts.push(
    `<div class="grid2">${chart(`${id}-histogram`, histogramSpec(chartRuns, measure))}${
      chart(`${id}-spectrum`, spectrumSpec(chartRuns, measure))
    }</div>`,
  );
  parts.push(chart(`${id}-rates`, ratesSpec(chartRuns, measure)));
  if (runs.length > 1) {
    parts.push(chart(`${id}-runs-time`, runsOverTimeSpec(chartRuns, measure)));
  }
  runs.forEach((r, i) => {
    parts.push(`<h3>${escapeHtml(r.label)}</h3>`);
    parts.push(chart(`${id}-time-${i}`, overTimeSpec(chartRuns[i], measure), "canvas"));
    const groups = [chart(`${id}-workers-${i}`, groupsSpec(chartRuns[i], measure, "worker"))];
    if (perConnection && r.data.connections.length > 0) {
      groups.push(chart(`${id}-connections-${i}`, groupsSpec(chartRuns[i], measure, "connection")));
    }
    parts.push(`<div class="grid2">${groups.join("")}</div>`);
  });
  parts.push("</section>");
  return parts.join("\n");
}

function summaryTable(runs: readonly AttemptsRun[], measure: Measure): string {
  const head = [
    "Run",
    `${capitalize(measure.events)} ok`,
    "Failed (by kind)",
    "min",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "p99.99",
    "max",
    "mean",
    "Rate",
    "Span",
    "Malformed rows",
  ];
  const rows = runs.map((r) => {
    const d = r.data;
    const s = d.stats;
    const pct = (label: string, us: number) =>
      d.successes === 0
        ? "-"
        : formatDuration(us) + (s.untrustedPercentiles.includes(label) ? "*" : "");
    return [
      escapeHtml(r.label),
      formatInteger(d.successes),
      d.failures === 0 ? "0" : `${formatInteger(d.failures)} (${errorList(d.errors)})`,
      d.successes === 0 ? "-" : formatDuration(s.minUs),
      pct("p50", s.p50Us),
      pct("p90", s.p90Us),
      pct("p99", s.p99Us),
      pct("p99.9", s.p999Us),
      pct("p99.99", s.p9999Us),
      d.successes === 0 ? "-" : formatDuration(s.maxUs),
      d.successes === 0 ? "-" : formatDuration(s.meanUs),
      formatPerSec(d.ratePerSec),
      formatSeconds(d.spanSeconds),
      formatInteger(r.malformed.count),
    ];
  });
  return `${table(head, rows)}<p class="note">${
    capitalize(measure.value)
  } percentiles from an HDR histogram of every successful ${
    measure.events.replace(/s$/, "")
  } in the CSV (0.1% resolution); * marks a percentile with fewer than 10 samples above it. Rate: successes over the span from the first start to the last end in the CSV.</p>`;
}

function differencesTable(comparisons: readonly RunComparison[], events: string): string {
  const blocks = comparisons.map((c) => {
    const rows = c.comparison.rows.map((r) => [
      escapeHtml(
        r.kind === "latency" || r.kind === "connect" ? r.metric : `${r.group} ${r.metric}`,
      ),
      formatValue(r.base, r.unit),
      formatValue(r.new, r.unit),
      formatSigned(r.difference, r.unit),
      formatChange(r.changePercent),
      formatInterval(r),
      escapeHtml(formatVerdict(r)),
    ]);
    const notes = [...c.comparison.notes, ...c.comparison.warnings];
    return `<h3>${escapeHtml(c.other)} compared with ${escapeHtml(c.base)}</h3>${
      table(
        [
          "",
          escapeHtml(c.base),
          escapeHtml(c.other),
          "Difference",
          "Change",
          `${+(c.comparison.confidence * 100).toFixed(2)}% interval`,
          "Verdict",
        ],
        rows,
      )
    }${
      notes.length > 0
        ? `<ul class="verdicts">${notes.map((n) => `<li>${escapeHtml(n)}.</li>`).join("")}</ul>`
        : ""
    }`;
  });
  return `<div class="differences">${
    blocks.join("")
  }<p class="note">Intervals as <code>netspeed compare</code> makes them: a block bootstrap over consecutive time windows of each run, so ${events} that are correlated in time widen the interval instead of narrowing it. One run per side shows the noise within the runs only, not how much runs of one configuration differ from each other: a difference beyond it is marked "need more runs", never better or worse. Compare several runs per side with <code>netspeed compare</code> for a verdict.</p></div>`;
}

function throughputSection(runs: readonly ThroughputRun[], chart: ChartSlot): string {
  const parts = [`<section id="throughput"><h2>Throughput</h2>`];
  const comparisons = comparisonsOf(runs);
  if (comparisons.length > 0) parts.push(differencesTable(comparisons, "intervals"));
  const head = [
    "Run",
    "Direction",
    "Streams",
    "Throughput",
    "Bytes",
    "Measured",
    "Slowest stream",
    "Fastest stream",
    "Empty intervals",
    "Malformed rows",
  ];
  const rows = runs.flatMap((r) =>
    r.data.directions.map((d) => [
      escapeHtml(r.label),
      d.direction,
      String(d.streams),
      formatBitsPerSec(d.bitsPerSec),
      formatInteger(d.bytes),
      formatSeconds(d.measuredSeconds),
      `${formatBitsPerSec(d.minStreamBitsPerSec)} (stream ${d.minStream})`,
      `${formatBitsPerSec(d.maxStreamBitsPerSec)} (stream ${d.maxStream})`,
      formatInteger(d.emptyIntervals),
      formatInteger(r.malformed.count),
    ])
  );
  parts.push(table(head, rows));
  parts.push(
    `<p class="note">Totals cover the measured intervals (after --omit). "up" counts bytes the client's writes handed to its socket, "down" bytes it read.</p>`,
  );
  const chartRuns = runs.map((r) => ({ label: r.label, data: r.data }));
  parts.push(chart("throughput-totals", throughputTotalsSpec(chartRuns)));
  const nodeRuns = chartRuns.filter((_, i) => runs[i].node !== undefined);
  if (nodeRuns.length > 0) parts.push(chart("throughput-nodes", throughputByNodeSpec(nodeRuns)));
  runs.forEach((r, i) => {
    parts.push(`<h3>${escapeHtml(r.label)}</h3>`);
    parts.push(chart(`throughput-streams-${i}`, throughputStreamsSpec(chartRuns[i])));
  });
  parts.push("</section>");
  return parts.join("\n");
}

function formatRpm(rpm: RpmResult | null): string {
  return rpm?.rpm == null ? "-" : formatInteger(rpm.rpm);
}

function responsivenessHeadline(run: ResponsivenessRun): string {
  const d = run.data;
  const idle = d.rpm.idle?.rpm ?? null;
  const loaded = d.rpm.loaded?.rpm ?? null;
  const factor = idle !== null && loaded !== null && loaded > 0
    ? ` (${(idle / loaded).toPrecision(3)}× fewer under load)`
    : "";
  const self = (phase: "idle" | "loaded") =>
    d.cells.find((c) => c.phase === phase && c.probe === "self")?.stats;
  const idleSelf = self("idle");
  const loadedSelf = self("loaded");
  const medians = idleSelf?.count && loadedSelf?.count
    ? `; self echo p50 ${formatDuration(idleSelf.p50Us)} idle, ${
      formatDuration(loadedSelf.p50Us)
    } loaded`
    : "";
  const f = d.loadFacts;
  const load = f && Number.isFinite(f.upBitsPerSec)
    ? `; load up ${formatBitsPerSec(f.upBitsPerSec)}, down ${formatBitsPerSec(f.downBitsPerSec)}`
    : "";
  const failed = d.failures === 0
    ? "no failed probes"
    : `<span class="bad">${formatInteger(d.failures)} failed probes</span>`;
  return `<b>${escapeHtml(run.label)}</b>: idle <b>${formatRpm(d.rpm.idle)} RPM</b>, loaded <b>${
    formatRpm(d.rpm.loaded)
  } RPM</b>${factor}${medians}${load}; ${failed}.`;
}

function responsivenessSection(runs: readonly ResponsivenessRun[], chart: ChartSlot): string {
  const parts = [`<section id="responsiveness"><h2>Responsiveness</h2>`];
  const comparisons = comparisonsOf(runs);
  if (comparisons.length > 0) parts.push(differencesTable(comparisons, "probes"));
  const roundTrip = (r: RpmResult | null) =>
    r?.roundTripMs == null ? "-" : formatDuration(r.roundTripMs * 1000);
  const window = (r: RpmResult | null) => r ? `${r.fromS.toFixed(2)}–${r.toS.toFixed(2)} s` : "-";
  const rpmRows = runs.map((r) => {
    const d = r.data;
    const f = d.loadFacts;
    return [
      escapeHtml(r.label),
      formatRpm(d.rpm.idle),
      formatRpm(d.rpm.loaded),
      roundTrip(d.rpm.idle),
      roundTrip(d.rpm.loaded),
      window(d.rpm.loaded),
      f && Number.isFinite(f.upBitsPerSec) ? formatBitsPerSec(f.upBitsPerSec) : "-",
      f && Number.isFinite(f.downBitsPerSec) ? formatBitsPerSec(f.downBitsPerSec) : "-",
      f?.streamsPerDirection == null
        ? "-"
        : `${f.liveStreams ?? "?"} of ${2 * f.streamsPerDirection}`,
      d.rpm.idle?.source === "json" || d.rpm.loaded?.source === "json" ? "JSON" : "CSV",
    ];
  });
  parts.push(table([
    "Run",
    "RPM idle",
    "RPM loaded",
    "Round trip idle",
    "Round trip loaded",
    "Loaded RPM window",
    "Load up",
    "Load down",
    "Load streams",
    "RPM from",
  ], rpmRows));
  const cellRows = runs.flatMap((r) =>
    PHASES.flatMap((phase) =>
      PROBE_KINDS.map((probe) => {
        const c = r.data.cells.find((x) => x.phase === phase && x.probe === probe)!;
        const s = c.stats;
        const pct = (label: string, us: number) =>
          s.count === 0
            ? "-"
            : formatDuration(us) + (s.untrustedPercentiles.includes(label) ? "*" : "");
        return [
          escapeHtml(r.label),
          phase,
          PROBE_LABELS[probe],
          formatInteger(s.count),
          c.failed === 0 ? "0" : `${formatInteger(c.failed)} (${errorList(c.errors)})`,
          s.count === 0 ? "-" : formatDuration(s.minUs),
          pct("p50", s.p50Us),
          pct("p90", s.p90Us),
          pct("p99", s.p99Us),
          s.count === 0 ? "-" : formatDuration(s.maxUs),
        ];
      })
    )
  );
  parts.push(
    table(["Run", "Phase", "Probe", "Done", "Failed", "min", "p50", "p90", "p99", "max"], cellRows),
  );
  parts.push(
    `<p class="note">RPM: round trips per minute, 60000 / (¼·(TM(foreign connect) + TM(foreign echo)) + ½·TM(self echo)), TM the mean of the times at or below p95, in ms (the IETF responsiveness draft's weights for echo probes). The idle RPM covers the whole idle phase, the loaded one the window shown (the last 4 s of load). "RPM from JSON": as the run computed it; "CSV": recomputed from the rows (idle within 0.6%) because the JSON is absent. Percentiles from an HDR histogram of every successful probe of the phase (0.1% resolution); * marks a percentile with fewer than 10 samples above it.</p>`,
  );
  const chartRuns = runs.map((r) => ({ label: r.label, data: r.data }));
  runs.forEach((r, i) => {
    parts.push(`<h3>${escapeHtml(r.label)}</h3>`);
    parts.push(chart(`responsiveness-time-${i}`, responsivenessTimeSpec(chartRuns[i]), "canvas"));
    parts.push(
      chart(`responsiveness-distribution-${i}`, responsivenessDistributionSpec(chartRuns[i])),
    );
  });
  parts.push("</section>");
  return parts.join("\n");
}

function metadataSection(runs: readonly ReportRun[]): string {
  const blocks = runs.map((r) => {
    const m = r.meta;
    const json = {
      read: `read from ${m.jsonPath}`,
      given: "from the run itself",
      absent: `none (${m.jsonPath} is absent): figures come from the CSV alone`,
      unreadable: `${m.jsonPath} could not be read: figures come from the CSV alone`,
      mismatched: `${m.jsonPath} is from another command: ignored`,
    }[m.json];
    const rows: [string, string][] = [
      ["Kind", r.kind],
      [
        "CSV",
        `${r.csvPath} (${formatInteger(r.rowsRead)} rows, ${formatInteger(r.csvBytes)} bytes)`,
      ],
      ["JSON summary", json],
    ];
    if (m.target) rows.push(["Target", m.target]);
    if (m.mode) rows.push(["Mode", m.mode]);
    if (m.startedAt) rows.push(["Started at", m.startedAt]);
    if (m.runId) rows.push(["Run id", m.runId]);
    if (m.version) {
      rows.push([
        "Versions",
        `netspeed ${m.version}${m.deno ? `, Deno ${m.deno}` : ""}${
          m.os ? `, ${m.os}/${m.arch ?? "?"}` : ""
        }`,
      ]);
    }
    if (m.options) rows.push(["Options", optionsText(m.options)]);
    if (r.kind === "responsiveness") {
      const load = r.data.load;
      rows.push([
        "Load",
        load
          ? `${formatSeconds(load.startS)} to ${formatSeconds(load.endS)} after the start (${
            load.source === "json"
              ? "from the JSON"
              : "from the first to the last loaded probe in the CSV"
          })`
          : "none",
      ]);
      rows.push(["Time bins", `medians per ${formatDuration(r.data.binSeconds * 1e6)}`]);
      rows.push([
        "Scatter sample",
        `${formatInteger(r.data.sample.length)} of ${
          formatInteger(r.data.sampleOf)
        } successful probes, uniform; ${formatInteger(r.data.failedSample.length)} of ${
          formatInteger(r.data.failures)
        } failed ones`,
      ]);
    } else if (r.kind !== "throughput") {
      rows.push(["Time bins", binWords(r.data.binSeconds)]);
      rows.push([
        "Scatter sample",
        `${formatInteger(r.data.sample.length)} of ${
          formatInteger(r.data.sampleOf)
        } successes, uniform`,
      ]);
    }
    if (r.ignoredColumns.length > 0) rows.push(["Columns not used", r.ignoredColumns.join(", ")]);
    rows.push(["Malformed rows", formatInteger(r.malformed.count)]);
    return `<h3>${escapeHtml(r.label)}</h3><table class="meta">${
      rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("")
    }</table>`;
  });
  return `<section id="runs"><h2>Runs</h2>${blocks.join("\n")}</section>`;
}

function optionsText(options: Record<string, unknown>): string {
  return Object.entries(options)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
}

function table(head: string[], rows: string[][]): string {
  return `<div class="scroll"><table class="figures"><thead><tr>${
    head.map((h) => `<th>${h}</th>`).join("")
  }</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")
  }</tbody></table></div>`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The page's style sheet, shared by every netspeed report page. */
export const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0;background:#fafafa}
header{background:#1f2d3d;color:#fff;padding:14px 28px}
header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c9d3de;font-size:12px}
main{max-width:1240px;margin:0 auto;padding:8px 28px 40px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:6px 20px 16px;margin:16px 0}
h2{font-size:17px;margin:12px 0 8px}
h3{font-size:14px;margin:18px 0 6px;color:#333}
ul.headlines li,ul.verdicts li{margin:3px 0}
.verdict.real{color:#a3300b;font-weight:600}
.verdict.noise{color:#2c6e2f}
.bad{color:#b3261e}
.warnings{background:#fff6e0;border:1px solid #f0d9a0;border-radius:4px;padding:6px 12px;margin-top:8px}
.warnings ul{margin:4px 0}
.scroll{overflow-x:auto}
table.figures{border-collapse:collapse;margin:6px 0;font-size:13px;font-variant-numeric:tabular-nums}
table.figures th,table.figures td{border-bottom:1px solid #eee;padding:3px 8px;text-align:right;white-space:nowrap}
table.figures th:first-child,table.figures td:first-child{text-align:left}
table.figures thead th{background:#f3f5f7;font-weight:600}
table.meta{border-collapse:collapse;margin:4px 0}
table.meta th{text-align:left;padding:2px 12px 2px 0;color:#555;font-weight:600;vertical-align:top;white-space:nowrap}
table.meta td{padding:2px 0;word-break:break-word}
.note{color:#666;font-size:12px;margin:4px 0 10px}
.grid2{display:flex;flex-wrap:wrap;gap:12px 28px}
.chart{margin:10px 0;min-height:40px}
.chart-error{color:#b3261e}
`;

/** The script that draws every chart; its only input is the JSON element. */
export const BOOT = `(function () {
  "use strict";
  var charts = JSON.parse(document.getElementById("netspeed-charts").textContent);
  var views = {};
  window.netspeedViews = views;
  window.netspeedReady = Promise.all(charts.map(function (c) {
    return vegaEmbed("#" + c.id, c.spec, {
      mode: "vega-lite",
      renderer: c.renderer,
      actions: { export: true, source: false, compiled: false, editor: false }
    }).then(function (result) {
      views[c.id] = result.view;
    }, function (error) {
      var element = document.getElementById(c.id);
      element.className += " chart-error";
      element.textContent = "This chart could not be drawn: " + error.message;
      console.error("Chart " + c.id + ": " + error.message);
    });
  }));
})();`;

/** The complete, self-contained report page. */
export function renderReportHtml(model: ReportModel, scripts: readonly InlineScript[]): string {
  const body = buildReportBody(model.runs);
  const drawnWith = scripts.map((s) => `${s.name} ${s.version}`).join(", ");
  const kinds = [...new Set(model.runs.map((r) => r.kind))].join(", ");
  return `${pageHead(model.title, scripts)}
<header><h1>${escapeHtml(model.title)}</h1><p>${model.runs.length} run${
    model.runs.length === 1 ? "" : "s"
  } (${escapeHtml(kinds)}) · built ${escapeHtml(model.generatedAt)} by netspeed ${
    escapeHtml(model.version)
  } · drawn with ${escapeHtml(drawnWith)}, inlined: this file needs no network</p></header>
<main>
${body.html}
</main>
<script type="application/json" id="netspeed-charts">${
    scriptJson(body.charts.map((c) => ({ id: c.id, renderer: c.renderer, spec: c.spec })))
  }</script>
<script>${BOOT}</script>
</body>
</html>
`;
}

/**
 * The start of a report page up to `<body>`: its title, the style sheet
 * and the chart libraries inlined, so the page works offline.
 */
export function pageHead(title: string, scripts: readonly InlineScript[]): string {
  const libraries = scripts.map((s) =>
    `<script data-library="${escapeHtml(s.name)}@${escapeHtml(s.version)}">\n${
      inlineScriptCode(s.code)
    }\n</script>`
  ).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
${libraries}
</head>
<body>`;
}
