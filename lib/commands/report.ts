/**
 * `netspeed report FILE…`: reads latency, throughput, connect and
 * responsiveness CSVs (any number, from any hosts), streams and aggregates
 * each, and writes one self-contained interactive HTML page. Also used by
 * `latency --report` and by `bench`.
 *
 * @module
 */
import { join } from "node:path";
import { type ReportSource, reportSources } from "../results/load_result.ts";
import { ExitCode, type ExitCodeValue, RunError, UsageError } from "../errors.ts";
import { NETSPEED_VERSION } from "../run_info.ts";
import { loadInlineScripts } from "../report/assets.ts";
import { renderReportHtml } from "../report/html.ts";
import { loadRuns, type ReportRun, tornLineNote } from "../report/load_run.ts";
import { defaultOutputPath, type ReportOptions, runLabels, runLimits } from "../report/options.ts";
import { formatInteger } from "../report/format.ts";
import { isAgentHlogDir, loadMeshDir, mergeMeshData } from "../report/mesh_data.ts";
import { renderMeshHtml } from "../report/mesh_html.ts";

/** One run to report: its CSV, and its summary when the caller holds it (else the JSON beside). */
export type { ReportSource };

/** What writing a report did. */
export interface ReportResult {
  outputPath: string;
  bytes: number;
  runs: ReportRun[];
  /** Inputs left out as unusable (only with `skipUnusable`), with the reason. */
  skipped: { csvPath: string; reason: string }[];
  /** Data rows read over all CSVs. */
  rows: number;
  seconds: number;
}

/** Runs `netspeed report`; resolves with the exit code. */
export async function report(options: ReportOptions): Promise<ExitCodeValue> {
  if (await allAgentHlogDirs(options.inputs)) {
    const outputPath = options.outputPath ?? defaultOutputPath(options.inputs[0], true);
    const result = await writeMeshReport(options.inputs, outputPath, options.title);
    console.log(
      `Report: ${result.outputPath} (${
        (result.bytes / 1e6).toFixed(2)
      } MB, mesh of ${result.pairs} pairs from ${result.hlogs} interval logs)`,
    );
    return ExitCode.ok;
  }
  const { sources, firstIsFolder } = await reportSources(options.inputs);
  const outputPath = options.outputPath ?? defaultOutputPath(options.inputs[0], firstIsFolder);
  const result = await writeReport(sources, outputPath, options.title);
  printResult(result);
  return ExitCode.ok;
}

/** Prints where the report went and what it holds; malformed rows go to stderr. */
export function printResult(result: ReportResult): void {
  for (const s of result.skipped) console.error(`netspeed: Report left out: ${s.reason}`);
  for (const run of result.runs) {
    if (run.tornLastLine !== null) {
      console.error(`netspeed: Warning: "${run.csvPath}": ${tornLineNote(run.tornLastLine)}`);
    }
    if (run.malformed.count === 0) continue;
    const first = run.malformed.examples[0];
    console.error(
      `netspeed: Warning: "${run.csvPath}": skipped ${
        formatInteger(run.malformed.count)
      } malformed row${run.malformed.count === 1 ? "" : "s"} of ${
        formatInteger(run.rowsRead)
      } (line ${first.line}: ${first.reason}); the report counts them`,
    );
  }
  console.log(
    `Report: ${result.outputPath} (${
      (result.bytes / 1e6).toFixed(2)
    } MB, ${result.runs.length} run${result.runs.length === 1 ? "" : "s"}, ${
      formatInteger(result.rows)
    } rows read in ${result.seconds.toFixed(1)} s)`,
  );
}

/**
 * Reads every source, one at a time so memory holds one file's aggregate
 * being built, and writes the page to `outputPath`. Throws
 * {@linkcode UsageError} for unusable input (nothing is written then) and
 * {@linkcode RunError} when the page cannot be written.
 */
export async function writeReport(
  sources: readonly ReportSource[],
  outputPath: string,
  title?: string,
  { skipUnusable = false }: { skipUnusable?: boolean } = {},
): Promise<ReportResult> {
  const started = performance.now();
  if (sources.length === 0) throw new UsageError("Nothing to report: no CSV file given");
  const resolvedOutput = await resolvedPath(outputPath);
  for (const s of sources) {
    if (await resolvedPath(s.csvPath) === resolvedOutput) {
      throw new UsageError(`Cannot write the report over its input "${s.csvPath}"`);
    }
  }
  const labels = runLabels(sources.map((s) => s.csvPath));
  const limits = runLimits(sources.length);
  const runs: ReportRun[] = [];
  const skipped: ReportResult["skipped"] = [];
  for (const [i, source] of sources.entries()) {
    try {
      runs.push(...await loadRuns(source.csvPath, labels[i], limits, source.summary));
    } catch (error) {
      if (!skipUnusable || !(error instanceof UsageError)) throw error;
      skipped.push({ csvPath: source.csvPath, reason: error.message });
    }
  }
  if (runs.length === 0) {
    throw new UsageError(`Nothing to report: ${skipped.map((s) => s.reason).join("; ")}`);
  }
  const scripts = await loadInlineScripts();
  const html = renderReportHtml({
    title: title ?? `netspeed report: ${labels.join(", ")}`,
    generatedAt: new Date().toISOString(),
    version: NETSPEED_VERSION,
    runs,
  }, scripts);
  const bytes = await writePage(outputPath, html);
  return {
    outputPath,
    bytes,
    runs,
    skipped,
    rows: runs.reduce((a, r) => a + r.rowsRead, 0),
    seconds: (performance.now() - started) / 1000,
  };
}

/** Whether every input is a folder of agents' hlogs (`netspeed agent --hlog-dir`). */
async function allAgentHlogDirs(inputs: readonly string[]): Promise<boolean> {
  for (const input of inputs) {
    try {
      if (!(await Deno.stat(input)).isDirectory) return false;
    } catch {
      return false;
    }
    if (!(await isAgentHlogDir(input))) return false;
  }
  return inputs.length > 0;
}

/**
 * Writes the mesh report of agents' hlog folders: heat map of source ×
 * target, one pair over time, the slowest pairs, a table.
 */
export async function writeMeshReport(
  inputs: readonly string[],
  outputPath: string,
  title?: string,
): Promise<{ outputPath: string; bytes: number; pairs: number; hlogs: number }> {
  const loaded = await Promise.all(inputs.map(loadMeshDir));
  const data = loaded.length === 1 ? loaded[0] : mergeMeshData(loaded);
  const scripts = await loadInlineScripts();
  const html = renderMeshHtml({
    title: title ?? `netspeed mesh: ${inputs.join(", ")}`,
    generatedAt: new Date().toISOString(),
    version: NETSPEED_VERSION,
    inputs: [...inputs],
    data,
  }, scripts);
  const bytes = await writePage(outputPath, html);
  return {
    outputPath,
    bytes,
    pairs: new Set(data.pairs.map((p) => `${p.source} ${p.target}`)).size,
    hlogs: data.files.hlogs,
  };
}

/**
 * Writes `folder/report.html` from every CSV in `folder` (what `bench`
 * saved), leaving out, with a message, files the report cannot draw.
 */
export async function writeFolderReport(folder: string): Promise<ReportResult> {
  const { sources } = await reportSources([folder]);
  const name = folder.split(/[\\/]/).filter(Boolean).pop() ?? folder;
  const result = await writeReport(
    sources,
    join(folder, "report.html"),
    `netspeed bench ${name}`,
    { skipUnusable: true },
  );
  printResult(result);
  return result;
}

async function resolvedPath(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path;
  }
}

/** Writes a report page; resolves with its size in bytes, or throws one {@linkcode RunError}. */
async function writePage(outputPath: string, html: string): Promise<number> {
  const bytes = new TextEncoder().encode(html);
  try {
    await Deno.writeFile(outputPath, bytes);
  } catch (error) {
    throw new RunError(`Cannot write report "${outputPath}": ${(error as Error).message}`);
  }
  return bytes.length;
}
