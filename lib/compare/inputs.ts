/**
 * The one place `compare` loads runs: CSVs through the report's loader
 * (lib/report/load_run.ts, which also reads the JSON beside each CSV for
 * its options, versions and CPU use), JSON summaries by their histograms,
 * and folders by the files in them. Everything past this module sees
 * {@linkcode CompareRun}s only.
 *
 * A JSON summary keeps a histogram, not the time order of its samples:
 * its runs are cut into random blocks (the ordinary bootstrap); a CSV's
 * into consecutive time windows.
 *
 * @module
 */
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { decodeHistogram } from "../histogram.ts";
import { loadRun, type ReportRun, runFacts, type RunMeta } from "../report/load_run.ts";
import { runLabels, runLimits } from "../report/options.ts";
import { type HistogramBlocks, randomBlocks, type ValueBlocks, valueBlocks } from "./blocks.ts";
import type { CompareKind, CompareRun, RunFacts } from "./comparison.ts";

const KINDS: readonly string[] = ["latency", "connect", "responsiveness", "throughput"];
const PHASES = ["idle", "loaded"] as const;
const PROBES = ["self", "foreign_connect", "foreign_echo"] as const;

/** A file to load, before its label is known. */
interface Source {
  path: string;
  /** For a bench summary: the command inside it. */
  part?: CompareKind;
}

/**
 * Turns one side's argument (paths separated by commas; each a CSV, a JSON
 * summary, or a folder of them) into runs. Throws {@linkcode UsageError}
 * naming the file when it cannot be used.
 */
export async function loadSide(argument: string, side: "BASE" | "NEW"): Promise<CompareRun[]> {
  const paths = argument.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (paths.length === 0) throw new UsageError(`Invalid ${side} "${argument}": no file given`);
  const sources: Source[] = [];
  for (const path of paths) sources.push(...await expand(path, side));
  const labels = runLabels(sources.map((s) => s.path.replace(/\.json$/i, "")));
  const runs: CompareRun[] = [];
  for (const [i, source] of sources.entries()) {
    const label = source.part && !labels[i].includes(source.part)
      ? `${labels[i]}:${source.part}`
      : labels[i];
    runs.push(...await loadSource(source, label));
  }
  if (runs.length === 0) {
    throw new UsageError(`Invalid ${side} "${argument}": it holds no run compare can read`);
  }
  return runs;
}

async function expand(path: string, side: string): Promise<Source[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new UsageError(`Cannot read ${side} "${path}": ${reason}`);
  }
  if (!info.isDirectory) return [{ path }];
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) if (entry.isFile) names.push(entry.name);
  names.sort();
  const csvs = names.filter((n) => /\.csv$/i.test(n));
  // A JSON beside its CSV is read with it; one alone stands for its run.
  const jsons = names.filter((n) =>
    /\.json$/i.test(n) && !csvs.includes(n.replace(/\.json$/i, ".csv")) &&
    !(csvs.length > 0 && n === "summary.json")
  );
  const sources = [...csvs, ...jsons].map((n) => ({ path: join(path, n) }));
  if (sources.length === 0) {
    throw new UsageError(`Cannot use ${side} folder "${path}": it has no .csv or .json file`);
  }
  return sources;
}

async function loadSource(source: Source, label: string): Promise<CompareRun[]> {
  if (!/\.json$/i.test(source.path)) {
    return [fromReportRun(await loadRun(source.path, label, runLimits(1)), source.path, label)];
  }
  let record: unknown;
  try {
    record = JSON.parse(await Deno.readTextFile(source.path));
  } catch (error) {
    throw new UsageError(`Cannot read JSON file "${source.path}": ${(error as Error).message}`);
  }
  if (!isRecord(record)) {
    throw new UsageError(`Cannot use JSON file "${source.path}": it is not a netspeed summary`);
  }
  if (record.command === "bench") {
    const runs: CompareRun[] = [];
    for (const kind of KINDS) {
      if (isRecord(record[kind])) {
        runs.push(fromSummary(record[kind], source.path, `${label}:${kind}`));
      }
    }
    return runs;
  }
  return [fromSummary(record, source.path, label)];
}

/** A run the report's loader read from a CSV (and the JSON beside it), as compare sees it. */
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

/** A run from its JSON summary alone. */
function fromSummary(record: Record<string, unknown>, path: string, label: string): CompareRun {
  const kind = record.command;
  if (typeof kind !== "string" || !KINDS.includes(kind)) {
    throw new UsageError(
      `Cannot use JSON file "${path}": it is ${
        typeof kind === "string" ? `a "${kind}" summary` : "not a netspeed summary"
      }; compare reads latency, connect, responsiveness and throughput runs`,
    );
  }
  const run = isRecord(record.run) ? record.run : {};
  const options = isRecord(record.options) ? { ...record.options } : {};
  for (const key of ["csvPath", "jsonPath", "reportPath"]) delete options[key];
  const extra = runFacts(record);
  const facts: RunFacts = {
    target: typeof record.target === "string" ? record.target : undefined,
    options,
    version: typeof run.version === "string" ? run.version : undefined,
    deno: typeof run.deno === "string" ? run.deno : undefined,
    cpuShare: extra.cpuShare,
    cores: extra.cores,
    rateAskedPerSec: extra.rate?.askedPerSec,
    rateAchievedPerSec: extra.rate?.achievedPerSec,
    interrupted: extra.interrupted,
  };
  const blocksOf = (encoded: unknown, seed: number): HistogramBlocks => {
    if (typeof encoded !== "string") {
      throw new UsageError(`Cannot use JSON file "${path}": it has no histogram`);
    }
    try {
      return randomBlocks(decodeHistogram(encoded), seed);
    } catch (error) {
      throw new UsageError(
        `Cannot use JSON file "${path}": its histogram cannot be decoded (${
          (error as Error).message
        })`,
      );
    }
  };
  const seed = hashText(path);
  if (kind === "throughput") {
    const rates: Record<string, ValueBlocks> = {};
    const intervals = Array.isArray(record.intervals) ? record.intervals.filter(isRecord) : [];
    for (const direction of ["up", "down"] as const) {
      const values = intervals
        .filter((i) => !i.omitted && isRecord(i[direction]))
        .map((i) => Number((i[direction] as Record<string, unknown>).bitsPerSec))
        .filter(Number.isFinite);
      if (values.length > 0) rates[direction] = valueBlocks(values);
    }
    return { label, path, kind, distributions: {}, rates, facts };
  }
  if (kind === "responsiveness") {
    const distributions: Record<string, HistogramBlocks> = {};
    PHASES.forEach((phase, i) => {
      const summary = record[phase];
      if (!isRecord(summary) || !isRecord(summary.probes)) return;
      PROBES.forEach((probe, j) => {
        const cell = (summary.probes as Record<string, unknown>)[probe];
        if (!isRecord(cell) || typeof cell.histogram !== "string") return;
        const blocks = blocksOf(cell.histogram, seed + 31 * i + j);
        if (blocks.total > 0) distributions[`${phase} ${probe}`] = blocks;
      });
    });
    if (Object.keys(distributions).length === 0) {
      throw new UsageError(`Cannot use JSON file "${path}": it has no probe histogram`);
    }
    return { label, path, kind, distributions, rates: {}, facts };
  }
  const group = kind === "latency" ? "rtt" : "connect";
  return {
    label,
    path,
    kind: kind as CompareKind,
    distributions: { [group]: blocksOf(record.histogram, seed) },
    rates: {},
    facts,
  };
}

function hashText(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
