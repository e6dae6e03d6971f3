/**
 * The report's Vega-Lite specs and HTML: specs are pure functions of the
 * data, compile with vega-lite without a warning, and the page refers to
 * nothing outside itself.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { compile } from "vega-lite";
import { loadInlineScripts } from "../lib/report/assets.ts";
import {
  buildReportBody,
  escapeHtml,
  inlineScriptCode,
  renderReportHtml,
  scriptJson,
} from "../lib/report/html.ts";
import {
  type AttemptsRun,
  loadRun,
  type ReportRun,
  type ResponsivenessRun,
} from "../lib/report/load_run.ts";
import { runLimits } from "../lib/report/options.ts";
import {
  groupsSpec,
  histogramSpec,
  LATENCY_MEASURE,
  overTimeSpec,
  ratesSpec,
  spectrumSpec,
} from "../lib/report/specs.ts";
import {
  responsivenessDistributionSpec,
  responsivenessTimeSpec,
} from "../lib/report/responsiveness_specs.ts";
import { tempDir } from "./helpers.ts";
import {
  syntheticConnectCsv,
  syntheticLatencyCsv,
  syntheticResponsiveness,
  syntheticThroughputCsv,
} from "./report_fixtures.ts";

/**
 * Runs of every kind, read from synthetic CSVs: two latency runs,
 * throughput, connect, responsiveness with its JSON, and responsiveness
 * without (no load throughput to draw, the load window guessed).
 */
async function sampleRuns(): Promise<ReportRun[]> {
  await using dir = await tempDir();
  const files: [string, string][] = [
    [
      "before.csv",
      syntheticLatencyCsv({
        workers: 2,
        connections: 3,
        perConnection: 500,
        baseUs: 60,
        stalledConnection: 4,
        failEvery: 301,
      }),
    ],
    [
      "after.csv",
      syntheticLatencyCsv({
        workers: 2,
        connections: 3,
        perConnection: 500,
        baseUs: 70,
        seed: 5,
        openLoopColumns: true,
      }),
    ],
    ["throughput.csv", syntheticThroughputCsv(3, 8, 1e9)],
    ["connect.csv", syntheticConnectCsv(2, 300, 90)],
  ];
  const rrul = syntheticResponsiveness({
    idleS: 2,
    loadedS: 4,
    idleUs: 120,
    loadedUs: 20_000,
    failEvery: 37,
  });
  files.push(["rrul.csv", rrul.csv], ["rrul-alone.csv", rrul.csv]);
  await Deno.writeTextFile(join(dir.path, "rrul.json"), JSON.stringify(rrul.json));
  const runs: ReportRun[] = [];
  for (const [name, text] of files) {
    await Deno.writeTextFile(join(dir.path, name), text);
    runs.push(
      await loadRun(join(dir.path, name), name.replace(".csv", ""), runLimits(files.length)),
    );
  }
  return runs;
}

/** Compiles a spec, returning every warning vega-lite logged. */
function compileWarnings(spec: unknown): string[] {
  const warnings: string[] = [];
  let level = 0;
  const logger = {
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error(...args: unknown[]) {
      warnings.push(`error: ${args.join(" ")}`);
      return logger;
    },
    warn(...args: unknown[]) {
      warnings.push(args.join(" "));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  // deno-lint-ignore no-explicit-any
  compile(spec as any, { logger: logger as any });
  return warnings;
}

function deepFreeze<T>(value: T): T {
  // Typed arrays (compare's blocks) cannot be frozen; no spec reads them.
  if (ArrayBuffer.isView(value)) return value;
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

Deno.test("every chart spec of a report compiles with vega-lite without a warning", async () => {
  // The logger hears warnings: a log scale on a nominal field is one.
  assert.notDeepEqual(
    compileWarnings({
      data: { values: [{ a: "x", b: 1 }] },
      mark: "bar",
      encoding: {
        x: { field: "a", type: "nominal", scale: { type: "log" } },
        y: { field: "b", type: "quantitative" },
      },
    }),
    [],
  );
  const runs = await sampleRuns();
  for (const set of [runs, [runs[0]], [runs[2]], [runs[3]], [runs[4]], [runs[5]]]) {
    const { charts } = buildReportBody(set);
    assert.ok(charts.length > 0);
    for (const chart of charts) {
      assert.deepEqual(compileWarnings(chart.spec), [], chart.id);
    }
  }
  const ids = buildReportBody(runs).charts.map((c) => c.id);
  for (
    const id of [
      "latency-histogram",
      "latency-spectrum",
      "latency-rates",
      "latency-time-0",
      "latency-time-1",
      "latency-workers-0",
      "latency-connections-0",
      "throughput-totals",
      "throughput-streams-0",
      "connect-histogram",
      "connect-spectrum",
      "connect-rates",
      "connect-time-0",
      "connect-workers-0",
      "responsiveness-time-0",
      "responsiveness-distribution-0",
      "responsiveness-time-1",
      "responsiveness-distribution-1",
    ]
  ) assert.ok(ids.includes(id), `chart ${id} is on the page: ${ids.join(", ")}`);
});

Deno.test("spec builders are pure: frozen data in, the same spec out every time", async () => {
  const runs = await sampleRuns();
  const latency = runs.filter((r): r is AttemptsRun => r.kind === "latency")
    .map((r) => deepFreeze({ label: r.label, data: r.data }));
  const builders = [
    () => histogramSpec(latency, LATENCY_MEASURE),
    () => spectrumSpec(latency, LATENCY_MEASURE),
    () => ratesSpec(latency, LATENCY_MEASURE),
    () => overTimeSpec(latency[0], LATENCY_MEASURE),
    () => groupsSpec(latency[0], LATENCY_MEASURE, "connection"),
  ];
  for (const r of runs.filter((r): r is ResponsivenessRun => r.kind === "responsiveness")) {
    const run = deepFreeze({ label: r.label, data: r.data });
    builders.push(() => responsivenessTimeSpec(run), () => responsivenessDistributionSpec(run));
  }
  for (const build of builders) assert.deepEqual(build(), build());
  // One run draws bars of counts, several draw shares, one colour per run.
  const one = JSON.stringify(histogramSpec([latency[0]], LATENCY_MEASURE));
  const two = JSON.stringify(histogramSpec(latency, LATENCY_MEASURE));
  assert.match(one, /"title":"Round trips per bin"/);
  assert.match(two, /"title":"Share of round trips \(%\)"/);
  assert.match(two, /"domain":\["before","after"\],"range":\["#4c78a8","#f58518"\]/);
  // With its JSON, the responsiveness run draws the load's throughput below the round trips,
  // on the same time axis; without, the round trips alone, the load guessed from the phases.
  const [withJson, alone] = runs.filter((r): r is ResponsivenessRun => r.kind === "responsiveness");
  const full = JSON.stringify(responsivenessTimeSpec(withJson));
  assert.match(full, /"vconcat":\[/);
  assert.match(full, /"resolve":\{"scale":\{"x":"shared"/);
  assert.match(full, /"title":"Load throughput \(bit\/s\)"/);
  assert.match(full, /"what":"load start"/);
  assert.match(full, /Shaded: the load, from the run's JSON/);
  const bare = JSON.stringify(responsivenessTimeSpec(alone));
  assert.doesNotMatch(bare, /vconcat|Load throughput/);
  assert.match(bare, /Shaded: from the first to the last loaded probe/);
  assert.match(bare, /"scale":\{"type":"log"\},"title":"Round-trip time \(ms, log scale\)"/);
});

Deno.test("the stalled connection stands out in the per-connection data", async () => {
  const runs = await sampleRuns();
  const before = runs[0] as AttemptsRun;
  const byP99 = [...before.data.connections].sort((a, b) => b.p99Us - a.p99Us);
  assert.equal(byP99[0].id, 4);
  assert.ok(byP99[0].p99Us > 10 * byP99[1].p99Us);
});

Deno.test("the report page refers to nothing outside itself", async () => {
  const runs = await sampleRuns();
  const scripts = await loadInlineScripts();
  assert.deepEqual(scripts.map((s) => s.name), ["vega", "vega-lite", "vega-embed"]);
  for (const s of scripts) assert.match(s.version, /^\d+\.\d+\.\d+$/, s.name);
  const html = renderReportHtml({
    title: "t <script>",
    generatedAt: "2026-01-01T00:00:00.000Z",
    version: "0.1.0",
    runs,
  }, scripts);
  // The libraries are inlined whole, as the npm packages ship them.
  for (const s of scripts) assert.ok(html.includes(inlineScriptCode(s.code)), s.name);
  assert.ok(!/sourceMappingURL/.test(html));
  // Nothing, libraries included, loads a script or a style sheet or fetches a URL.
  assert.ok(!/<script[^>]*\ssrc\s*=\s*["'`]?(https?:)?\/\//i.test(html), "script src");
  assert.ok(!/<link[^>]*href\s*=\s*["'`]?(https?:)?\/\//i.test(html), "link element");
  assert.ok(!/@import|url\(\s*['"]?https?:/i.test(html), "CSS reference");
  assert.ok(!/fetch\(\s*['"`]https?:/i.test(html), "fetch of a URL");
  // Outside the libraries' code: no element that loads, no URL at all, no fetch.
  const own = html.replace(/<script data-library[^>]*>[\s\S]*?<\/script>/g, "");
  assert.ok(html.length - own.length > 500_000, "the libraries are inlined");
  assert.ok(
    !/<(script|link|img|iframe|object|embed|audio|video|source)\b[^>]*\s(src|href)=/i.test(own),
  );
  assert.ok(!/https?:\/\//i.test(own), own.match(/.{40}https?:\/\/.{40}/)?.[0]);
  assert.ok(!/fetch\(/.test(own));
  assert.ok(html.includes("t &#60;script&#62;"));
});

Deno.test("scriptJson() and escapeHtml() keep data from ending its element", () => {
  const json = scriptJson({ label: "</script><script>alert(1)</script><!--" });
  assert.ok(!json.includes("<"));
  assert.deepEqual(JSON.parse(json), { label: "</script><script>alert(1)</script><!--" });
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;",
  );
  assert.equal(
    inlineScriptCode('x="</script>";\n//# sourceMappingURL=a.map'),
    'x="<\\/script>";\n',
  );
});
