/**
 * The one place `compare` loads runs, through the run-result loader every
 * command shares (lib/results/load_result.ts): JSON summaries, folders and
 * stdin (`-`) as `merge` and `report` read them. The samples then come from
 * the run's CSV when there is one (given, beside its JSON, or where the run
 * wrote it), streamed by the report's reader (lib/report/load_run.ts) into
 * time-window blocks; from the summary's HDR histograms otherwise.
 *
 * A histogram keeps no time order: such a run is cut into random blocks
 * (the ordinary bootstrap), a CSV's into consecutive time windows.
 * Everything past this module sees {@linkcode CompareRun}s only.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { decodeHistogram } from "../histogram.ts";
import { loadRun, type ReportRun, runFacts, type RunMeta } from "../report/load_run.ts";
import { runLabels, runLimits } from "../report/options.ts";
import { type AnyRunResult, loadResults, resultFilesIn } from "../results/load_result.ts";
import { type HistogramBlocks, randomBlocks, type ValueBlocks, valueBlocks } from "./blocks.ts";
import type { CompareKind, CompareRun, RunFacts } from "./comparison.ts";

/** A run found in the inputs, before its samples are read. */
interface Source {
  /** The file it was found in, for labels and messages. */
  path: string;
  /** The CSV to stream, if any. */
  csvPath: string | null;
  /** The summary, when the run was found through one. */
  result: AnyRunResult | null;
}

/**
 * Turns one side's argument (paths separated by commas; each a CSV, a JSON
 * summary, a folder of them, or `-` for summaries on stdin) into runs.
 * Throws {@linkcode UsageError} naming the input when it cannot be read.
 */
export async function loadSide(argument: string, side: "BASE" | "NEW"): Promise<CompareRun[]> {
  const paths = argument.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (paths.length === 0) throw new UsageError(`Invalid ${side} "${argument}": no file given`);
  const sources: Source[] = [];
  for (const path of paths) sources.push(...await find(path, side));
  const labels = runLabels(sources.map((s) => s.path.replace(/\.json$/i, "")));
  const runs: CompareRun[] = [];
  for (const [i, source] of sources.entries()) runs.push(await read(source, labels[i]));
  if (runs.length === 0) {
    throw new UsageError(`Invalid ${side} "${argument}": it holds no run compare can read`);
  }
  return runs;
}

async function find(path: string, side: string): Promise<Source[]> {
  if (path === "-") return fromResults(path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new UsageError(`Cannot read ${side} "${path}": ${reason}`);
  }
  if (/\.csv$/i.test(path) && !info.isDirectory) return [{ path, csvPath: path, result: null }];
  if (!info.isDirectory) return fromResults(path);
  // bench's summary.json repeats the runs whose own files sit beside it.
  const files = (await resultFilesIn(path)).filter((f) => !/(^|[\\/])summary\.json$/.test(f));
  if (files.length === 0) {
    throw new UsageError(`Cannot use ${side} folder "${path}": it has no .csv or .json file`);
  }
  const sources: Source[] = [];
  for (const file of files) {
    if (/\.csv$/i.test(file)) sources.push({ path: file, csvPath: file, result: null });
    else sources.push(...await fromResults(file));
  }
  return sources;
}

async function fromResults(path: string): Promise<Source[]> {
  const loaded = await loadResults([path]);
  return loaded.map((l) => ({
    path: l.source === "-" || l.source.startsWith("-:") ? `stdin ${l.result.node.id}` : l.source,
    csvPath: l.csvPath,
    result: l.result,
  }));
}

async function read(source: Source, label: string): Promise<CompareRun> {
  if (source.csvPath !== null) {
    const run = await loadRun(
      source.csvPath,
      label,
      runLimits(1),
      source.result ?? undefined,
    );
    return fromReportRun(run, source.path, label);
  }
  return fromResult(source.result!, source.path, label);
}

/** A run the report's loader read from a CSV (and its summary), as compare sees it. */
export function fromReportRun(run: ReportRun, path: string, label: string): CompareRun {
  const facts = factsOfMeta(run.meta);
  if (run.kind === "throughput") {
    const rates: Record<string, ValueBlocks> = {};
    for (const direction of ["up", "down"] as const) {
      const values = run.data.totals
        .filter((t) => t.direction === direction && !t.omitted)
        .sort((a, b) => a.startS - b.startS)
        .map((t) => t.bitsPerSec);
      if (values.length > 0) rates[direction] = valueBlocks(values);
    }
    return { label, path, kind: "throughput", distributions: {}, rates, facts };
  }
  if (run.kind === "responsiveness") {
    const distributions: Record<string, HistogramBlocks> = {};
    for (const cell of run.data.cells) {
      if (cell.blocks.total > 0) distributions[`${cell.phase} ${cell.probe}`] = cell.blocks;
    }
    return { label, path, kind: "responsiveness", distributions, rates: {}, facts };
  }
  const group = run.kind === "latency" ? "rtt" : "connect";
  return {
    label,
    path,
    kind: run.kind,
    distributions: { [group]: run.data.blocks },
    rates: {},
    facts,
  };
}

function factsOfMeta(meta: RunMeta): RunFacts {
  if (meta.json !== "read" && meta.json !== "given") return {};
  return {
    target: meta.target,
    options: meta.options ?? {},
    version: meta.version,
    deno: meta.deno,
    cpuShare: meta.cpuShare,
    cores: meta.cores,
    rateAskedPerSec: meta.rate?.askedPerSec,
    rateAchievedPerSec: meta.rate?.achievedPerSec,
    interrupted: meta.interrupted,
  };
}

/** A run from its summary's histograms alone (no CSV found). */
function fromResult(result: AnyRunResult, path: string, label: string): CompareRun {
  const kind = result.kind as CompareKind;
  const options: Record<string, unknown> = { ...(result.options ?? {}) };
  const extra = runFacts(result);
  const facts: RunFacts = {
    target: typeof result.target === "string" ? result.target : undefined,
    options,
    version: result.run?.version,
    deno: result.run?.deno,
    cpuShare: extra.cpuShare,
    cores: extra.cores,
    rateAskedPerSec: extra.rate?.askedPerSec,
    rateAchievedPerSec: extra.rate?.achievedPerSec,
    interrupted: extra.interrupted,
  };
  const seed = hashText(path);
  if (kind === "throughput") {
    const rates: Record<string, ValueBlocks> = {};
    const intervals = Array.isArray(result.intervals) ? result.intervals.filter(isRecord) : [];
    for (const direction of ["up", "down"] as const) {
      const values = intervals
        .filter((i) => !i.omitted && isRecord(i[direction]))
        .map((i) => Number((i[direction] as Record<string, unknown>).bitsPerSec))
        .filter(Number.isFinite);
      if (values.length > 0) rates[direction] = valueBlocks(values);
    }
    return { label, path, kind, distributions: {}, rates, facts };
  }
  const distributions: Record<string, HistogramBlocks> = {};
  const histograms = { ...responsivenessHistograms(result), ...(result.histograms ?? {}) };
  Object.entries(histograms).forEach(([name, encoded], i) => {
    let blocks: HistogramBlocks;
    try {
      blocks = randomBlocks(decodeHistogram(encoded), seed + 31 * i);
    } catch (error) {
      throw new UsageError(
        `Cannot use "${path}": its histogram "${name}" cannot be decoded (${
          (error as Error).message
        })`,
      );
    }
    // "idle.self" in the model's names, "idle self" in compare's tables.
    if (blocks.total > 0) distributions[name.replace(".", " ")] = blocks;
  });
  if (Object.keys(distributions).length === 0) {
    throw new UsageError(`Cannot use "${path}": it has no histogram and no CSV was found`);
  }
  return { label, path, kind, distributions, rates: {}, facts };
}

/** A responsiveness summary's probe histograms, under the model's names ("loaded.self"). */
function responsivenessHistograms(result: AnyRunResult): Record<string, string> {
  const out: Record<string, string> = {};
  if (result.kind !== "responsiveness") return out;
  for (const phase of ["idle", "loaded"]) {
    const summary = result[phase];
    if (!isRecord(summary) || !isRecord(summary.probes)) continue;
    for (const [probe, cell] of Object.entries(summary.probes)) {
      if (isRecord(cell) && typeof cell.histogram === "string") {
        out[`${phase}.${probe}`] = cell.histogram;
      }
    }
  }
  return out;
}

function hashText(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
