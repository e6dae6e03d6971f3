/**
 * The one loader of finished runs: `merge`, `report` and `compare` read
 * results through it, from a result directory, a JSON summary, a CSV (with
 * its JSON beside it, or alone), or a stream of JSON summaries on stdin
 * (`-`), such as `kubectl logs` prints them between other log lines. A bad
 * input fails with one line naming the file and what is wrong with it.
 *
 * @example
 * ```ts
 * const results = await loadResults(["node-a/", "node-b/latency.json", "-"]);
 * for (const { source, result } of results) console.log(source, result.node.id, result.counts.ok);
 * ```
 *
 * @module
 */
import { basename, dirname, isAbsolute, join } from "node:path";
import { RunError, UsageError } from "../errors.ts";
import { createHistogram, encodeHistogram, recordUs } from "../histogram.ts";
import { detectCsvLayout } from "../report/csv_kind.ts";
import { readCsvFile } from "../report/csv_stream.ts";
import { readHlog } from "../hlog/reader.ts";
import {
  type MeasuredWindow,
  type OutcomeCounts,
  RESULT_FORMAT,
  RESULT_KINDS,
  type ResultKind,
  type RunResult,
} from "./run_result.ts";

/**
 * A result that cannot be used (not netspeed's, truncated, of an unknown
 * kind): a run failure, exit code 1. The message names the file.
 */
export class BadResultError extends RunError {
  override name = "BadResultError";
}

/** A result as read: the shared model plus every field of its kind's summary. */
export type AnyRunResult = RunResult & Record<string, unknown>;

/** One result found in the inputs. */
export interface LoadedResult {
  /** Where it was read: a path, or `-` with its line (`-:12`), for messages. */
  source: string;
  result: AnyRunResult;
  /** The run's CSV, when it was given or found (beside the JSON, or where the run wrote it). */
  csvPath: string | null;
  /** The run's interval log, when found. */
  hlogPath: string | null;
  /**
   * True when the result was rebuilt from a CSV alone (no JSON): no
   * wall-clock times, no options.
   */
  fromCsvOnly: boolean;
}

/** How a path given as input is read. */
export type InputType = "stdin" | "directory" | "json" | "csv" | "hlog";

/** What a path looks like, by its name (and whether it is a folder). */
export function inputType(path: string, isDirectory: boolean): InputType {
  if (path === "-") return "stdin";
  if (isDirectory) return "directory";
  if (/\.csv$/i.test(path)) return "csv";
  if (/\.hlog$/i.test(path)) return "hlog";
  return "json";
}

/**
 * Loads every result of `inputs` in order: directories give each JSON
 * summary inside (and each CSV no summary names), `-` reads `stdin` to its
 * end. Throws {@linkcode UsageError} for a missing input and
 * {@linkcode BadResultError} for an unusable one.
 */
export async function loadResults(
  inputs: readonly string[],
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
): Promise<LoadedResult[]> {
  const loaded: LoadedResult[] = [];
  for (const input of inputs) {
    if (input === "-") {
      const text = await new Response(stdin).text();
      for (const result of resultsFromStream(text, "-")) {
        const entry = fromJson("-", result);
        // Paths in a streamed summary are the node's: they resolve here only
        // when the files were copied beside the current folder.
        entry.csvPath = await existingFile("-", result.files.csv);
        entry.hlogPath = await existingFile("-", result.files.hlog);
        loaded.push(entry);
      }
      continue;
    }
    const type = inputType(input, await isDirectory(input));
    if (type === "directory") loaded.push(...await loadDirectory(input));
    else loaded.push(...await loadFile(input, type));
  }
  return loaded;
}

/** One run for `report`: its CSV, and its summary when already read (else the JSON beside). */
export interface ReportSource {
  csvPath: string;
  summary?: unknown;
}

/**
 * The runs behind `report`'s inputs, CSVs unread (the report streams
 * them): a CSV as given, a folder's CSVs (bench's order), a JSON summary's
 * CSV, and the CSVs of the summaries on stdin (`-`). A missing input is a
 * usage error (exit 2); a summary whose CSV cannot be found too.
 */
export async function reportSources(
  inputs: readonly string[],
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
): Promise<{ sources: ReportSource[]; firstIsFolder: boolean }> {
  const sources: ReportSource[] = [];
  let firstIsFolder = false;
  for (const [i, input] of inputs.entries()) {
    const type = input === "-" ? "stdin" : inputType(input, await isDirectory(input));
    if (type === "csv") {
      sources.push({ csvPath: input });
    } else if (type === "directory") {
      if (i === 0) firstIsFolder = true;
      const found: string[] = [];
      for await (const entry of Deno.readDir(input)) {
        if (entry.isFile && /\.csv$/i.test(entry.name)) found.push(join(input, entry.name));
      }
      if (found.length === 0) {
        throw new UsageError(`Folder "${input}" has no .csv file to report`);
      }
      sources.push(...found.sort(csvOrder).map((csvPath) => ({ csvPath })));
    } else {
      for (const loaded of await loadResults([input], stdin)) {
        if (loaded.csvPath === null) {
          throw new UsageError(
            `Cannot report "${loaded.source}": its CSV ("${
              loaded.result.files.csv ?? "none written"
            }") is not there (the report is drawn from the CSV; run with --csv)`,
          );
        }
        sources.push({ csvPath: loaded.csvPath, summary: loaded.result });
      }
    }
  }
  return { sources, firstIsFolder };
}

/** Latency, throughput, connect, responsiveness (bench's order), then the rest by name. */
function csvOrder(a: string, b: string): number {
  const rank = (p: string) => {
    const name = p.split(/[\\/]/).pop() ?? p;
    const order = ["latency.csv", "throughput.csv", "connect.csv", "responsiveness.csv"];
    const i = order.indexOf(name);
    return i === -1 ? order.length : i;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    const what = /\.csv$/i.test(path) ? "CSV file" : "result";
    throw new UsageError(`Cannot read ${what} "${path}": ${reason}`);
  }
}

/** The paths of a directory's results: its JSON files, and CSVs with no JSON beside. */
export async function resultFilesIn(directory: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    if (entry.isFile && /\.(json|csv)$/i.test(entry.name)) names.push(entry.name);
  }
  const json = new Set(names.filter((n) => /\.json$/i.test(n)));
  return names
    .filter((n) => /\.json$/i.test(n) || !json.has(n.replace(/\.csv$/i, ".json")))
    .sort()
    .map((n) => join(directory, n));
}

async function loadDirectory(directory: string): Promise<LoadedResult[]> {
  const paths = await resultFilesIn(directory);
  if (paths.length === 0) {
    throw new UsageError(`Folder "${directory}" has no netspeed result (.json or .csv) in it`);
  }
  const loaded: LoadedResult[] = [];
  for (const path of paths) loaded.push(...await loadFile(path, inputType(path, false)));
  return loaded;
}

async function loadFile(path: string, type: InputType): Promise<LoadedResult[]> {
  if (type === "hlog") return [await resultFromHlog(path)];
  if (type === "csv") {
    const beside = path.replace(/\.csv$/i, ".json");
    const text = await readTextOrNull(beside);
    if (text !== null) {
      const [result] = resultsFromText(text, beside);
      return [{ ...fromJson(beside, result), csvPath: path }];
    }
    return [await resultFromCsv(path)];
  }
  const text = await readTextOrNull(path);
  if (text === null) throw new UsageError(`Cannot read result "${path}": no such file`);
  const results = resultsFromText(text, path);
  const loaded: LoadedResult[] = [];
  for (const result of results) {
    const entry = fromJson(path, result);
    entry.csvPath = await existingFile(path, result.files.csv);
    entry.hlogPath = await existingFile(path, result.files.hlog);
    loaded.push(entry);
  }
  return loaded;
}

function fromJson(source: string, result: AnyRunResult): LoadedResult {
  return { source, result, csvPath: null, hlogPath: null, fromCsvOnly: false };
}

/**
 * The results of a JSON file: one summary (pretty or not), or a stream of
 * one-line summaries with other lines between them.
 */
export function resultsFromText(text: string, source: string): AnyRunResult[] {
  const trimmed = text.trim();
  if (trimmed === "") throw new BadResultError(`Cannot use result "${source}": it is empty`);
  let whole: unknown;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    return resultsFromStream(text, source);
  }
  if (Array.isArray(whole)) return whole.map((v, i) => toRunResult(v, `${source} [${i}]`));
  return [toRunResult(whole, source)];
}

/**
 * Picks the JSON summaries out of a log stream: a line holding
 * `{…"tool":"netspeed"…}`, possibly after a prefix such as `kubectl logs
 * --prefix` adds. Other lines are skipped; a summary line that does not
 * parse (cut short) is an error naming its line.
 */
export function resultsFromStream(text: string, source: string): AnyRunResult[] {
  const results: AnyRunResult[] = [];
  const lines = text.split("\n");
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    const open = line.indexOf("{");
    if (open === -1 || !/"tool"\s*:\s*"netspeed"/.test(line)) continue;
    const where = `${source}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line.slice(open));
    } catch (error) {
      throw new BadResultError(
        `Cannot use result "${where}": the JSON summary on this line is cut short or damaged (${
          (error as Error).message
        })`,
      );
    }
    results.push(toRunResult(value, where));
  }
  if (results.length === 0) {
    throw new BadResultError(
      `Cannot use result "${source}": no netspeed JSON summary in it (write them with --json)`,
    );
  }
  return results;
}

/**
 * Checks that `value` is a netspeed summary and returns it as a
 * {@linkcode RunResult}; summaries written before the model (no `kind`,
 * `node`, `window` …) get those fields derived from the ones they have.
 */
export function toRunResult(value: unknown, source: string): AnyRunResult {
  const bad = (what: string) => new BadResultError(`Cannot use result "${source}": ${what}`);
  if (!isRecord(value)) throw bad("it is not a JSON object");
  const run = value.run;
  if (!isRecord(run) || run.tool !== "netspeed") {
    throw bad('it is not a netspeed JSON summary (no "run.tool": "netspeed")');
  }
  const kind = value.command;
  if (!RESULT_KINDS.includes(kind as ResultKind)) {
    throw bad(`unknown kind of run "${String(kind)}" (expected ${RESULT_KINDS.join(", ")})`);
  }
  if (typeof value.resultFormat === "number" && value.resultFormat > RESULT_FORMAT) {
    throw bad(
      `written in result format ${value.resultFormat} by a newer netspeed (this one reads ${RESULT_FORMAT})`,
    );
  }
  if (typeof run.startEpochMs !== "number") throw bad('"run.startEpochMs" is missing');
  if (value.resultFormat === undefined) return upgraded(value, kind as ResultKind);
  for (const field of ["node", "start", "window", "counts", "histograms", "files"]) {
    if (!isRecord(value[field])) throw bad(`"${field}" is missing or not an object`);
  }
  return value as AnyRunResult;
}

/** Derives the model's fields of a summary written before it existed. */
function upgraded(value: Record<string, unknown>, kind: ResultKind): AnyRunResult {
  const run = value.run as Record<string, unknown>;
  const startEpochMs = run.startEpochMs as number;
  const seconds = typeof value.measuredSeconds === "number" ? value.measuredSeconds : 0;
  const errors = isRecord(value.errors) ? value.errors as Record<string, number> : {};
  const failed = typeof value.failed === "number"
    ? value.failed
    : Object.values(errors).reduce((a, b) => a + b, 0);
  const histogram = typeof value.histogram === "string" ? value.histogram : undefined;
  const csv = isRecord(value.csv) && typeof value.csv.path === "string" ? value.csv.path : null;
  const options = isRecord(value.options) ? value.options : {};
  const host = typeof run.hostname === "string" ? run.hostname : "";
  return {
    ...value,
    kind,
    mode: typeof value.mode === "string" ? value.mode : String(options.direction ?? kind),
    resultFormat: 0,
    node: { id: host || "unknown", host },
    start: { askedAt: null, askedEpochMs: null, lateMs: 0 },
    window: {
      originEpochMs: startEpochMs,
      startEpochMs,
      endEpochMs: startEpochMs + seconds * 1000,
    },
    counts: {
      ok: typeof value.done === "number" ? value.done : 0,
      failed,
      byOutcome: errors,
    },
    histograms: histogram === undefined
      ? {}
      : { [kind === "connect" ? "connect" : "rtt"]: histogram },
    files: {
      csv,
      hlog: null,
      json: typeof options.jsonPath === "string" ? options.jsonPath : null,
    },
    warnings: Array.isArray(value.warnings) ? value.warnings.map(String) : [],
  } as AnyRunResult;
}

/**
 * Rebuilds a latency or connect result from its HdrHistogram interval log
 * alone (`--hlog`, no JSON): counts and histogram are the sum of its
 * intervals, the window their span on the wall clock; the node and kind
 * come from the first tag (`node-a/latency`). A truncated or malformed log
 * fails with the reader's message, which names the file and the line.
 */
export async function resultFromHlog(path: string): Promise<LoadedResult> {
  const log = await readHlog(path);
  const tag = log.intervals.find((i) => i.tag !== null)?.tag ?? null;
  const [node, series] = tag === null ? [basename(path).replace(/\.hlog$/i, ""), ""] : [
    tag.slice(0, Math.max(0, tag.indexOf("/"))) || tag,
    tag.slice(tag.indexOf("/") + 1),
  ];
  if (series !== "latency" && series !== "connect") {
    throw new BadResultError(
      `Cannot use result "${path}": an interval log${
        series ? ` of "${series}"` : " without tags"
      } needs its JSON summary to be merged (only latency and connect logs stand alone)`,
    );
  }
  const kind: ResultKind = series;
  const histogram = createHistogram();
  for (const interval of log.intervals) histogram.add(interval.histogram);
  const start = Math.min(...log.intervals.map((i) => i.startEpochMs));
  const end = Math.max(...log.intervals.map((i) => i.endEpochMs));
  const encoded = encodeHistogram(histogram);
  const loaded = partialResult(
    path,
    kind,
    node,
    { ok: histogram.totalCount, failed: 0, byOutcome: {} },
    encoded,
    {
      originEpochMs: start,
      startEpochMs: start,
      endEpochMs: end,
    },
    `Rebuilt from the interval log "${path}" alone: no options, versions or failed attempts`,
  );
  return { ...loaded, csvPath: null, hlogPath: path, fromCsvOnly: false };
}

/**
 * Rebuilds a latency or connect result from its CSV alone (a run whose
 * JSON was lost): counts and the histogram of every successful row. The
 * CSV's times are relative, so the window is not on the wall clock
 * (`originEpochMs` 0) and a warning says so. The node is the `node` column
 * of a merged CSV's first row, else the file name.
 */
export async function resultFromCsv(path: string): Promise<LoadedResult> {
  let kind: ResultKind | undefined;
  const histogram = createHistogram();
  const byOutcome: Record<string, number> = {};
  let failed = 0;
  let lastUs = 0;
  let node: string | undefined;
  await readCsvFile(path, (columns) => {
    const layout = detectCsvLayout(columns);
    if (typeof layout === "string") {
      throw new BadResultError(`Cannot use result "${path}" line 1: ${layout}`);
    }
    if (layout.kind !== "latency" && layout.kind !== "connect") {
      throw new BadResultError(
        `Cannot use result "${path}": a ${layout.kind} CSV needs its JSON summary beside it (same name, .json) to be merged`,
      );
    }
    kind = layout.kind;
    const names = columns.map((c) => c.trim().toLowerCase());
    const nodeColumn = names.indexOf("node");
    const value = layout.index[kind === "latency" ? "rtt_us" : "connect_us"];
    const error = layout.index.error;
    const start = layout.index.start_us;
    return (row) => {
      if (node === undefined && nodeColumn !== -1) node = row.text(nodeColumn);
      lastUs = Math.max(lastUs, row.number(start) || 0);
      const outcome = row.text(error).trim();
      if (outcome !== "") {
        failed++;
        byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
        return;
      }
      const us = row.number(value);
      if (Number.isFinite(us)) recordUs(histogram, us);
    };
  });
  const k = kind!;
  const counts: OutcomeCounts = { ok: histogram.totalCount, failed, byOutcome };
  const id = node ?? basename(path).replace(/\.csv$/i, "");
  const loaded = partialResult(
    path,
    k,
    id,
    counts,
    encodeHistogram(histogram),
    { originEpochMs: 0, startEpochMs: 0, endEpochMs: lastUs / 1000 },
    `Rebuilt from the CSV "${path}" alone: no options, versions or wall-clock times`,
  );
  loaded.result.csv = { path, rows: counts.ok + failed };
  loaded.result.files.csv = path;
  return { ...loaded, csvPath: path, fromCsvOnly: true };
}

/** A result rebuilt from a CSV or interval log alone: what it holds, and a warning for the rest. */
function partialResult(
  path: string,
  kind: ResultKind,
  nodeId: string,
  counts: OutcomeCounts,
  histogram: string,
  window: MeasuredWindow,
  warning: string,
): LoadedResult {
  const name = kind === "connect" ? "connect" : "rtt";
  const result: RunResult = {
    command: kind,
    kind,
    mode: "unknown",
    resultFormat: RESULT_FORMAT,
    node: { id: nodeId, host: "" },
    run: {
      tool: "netspeed",
      version: "",
      deno: "",
      v8: "",
      typescript: "",
      os: "",
      arch: "",
      runId: "",
      startedAt: new Date(window.originEpochMs).toISOString(),
      startEpochMs: window.originEpochMs,
      hostname: "",
    },
    options: {},
    start: { askedAt: null, askedEpochMs: null, lateMs: 0 },
    window,
    interrupted: false,
    counts,
    histograms: { [name]: histogram },
    files: { csv: null, hlog: null, json: null },
    warnings: [warning],
  };
  return {
    source: path,
    result: {
      ...result,
      done: counts.ok,
      failed: counts.failed,
      errors: counts.byOutcome,
      histogram,
      csv: null,
    } as AnyRunResult,
    csvPath: null,
    hlogPath: null,
    fromCsvOnly: false,
  };
}

/**
 * Where a file a result names is now: beside the JSON first (a result
 * directory copied from another machine), else the path as written.
 */
async function existingFile(jsonPath: string, written: string | null): Promise<string | null> {
  if (written === null || written === "-") return null;
  const candidates = [join(dirname(jsonPath), basename(written))];
  if (isAbsolute(written) || !candidates.includes(written)) candidates.push(written);
  for (const candidate of candidates) {
    try {
      if ((await Deno.stat(candidate)).isFile) return candidate;
    } catch { /* try the next */ }
  }
  return null;
}

async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new BadResultError(`Cannot read result "${path}": ${(error as Error).message}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
