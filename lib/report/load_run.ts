/**
 * Reads one run for the report: its CSV, streamed and aggregated, and the
 * JSON summary beside it (same name, `.json`) when there is one, for the
 * metadata only a run's own machine knew. A run from another host may
 * come without its JSON: then everything shown comes from the CSV.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { type AttemptLimits, AttemptsAggregator, type AttemptsData } from "./attempts.ts";
import { type CsvKind, type CsvLayout, detectCsvLayout } from "./csv_kind.ts";
import { type CsvRow, readCsvFile } from "./csv_stream.ts";
import {
  ResponsivenessAggregator,
  type ResponsivenessData,
  responsivenessJsonFacts,
} from "./responsiveness_data.ts";
import { snapToInterval, ThroughputAggregator, type ThroughputData } from "./throughput_data.ts";

/** Rows skipped because they could not be read, with the first few reasons. */
export interface MalformedRows {
  count: number;
  examples: { line: number; reason: string }[];
}

/** Malformed rows whose reason is kept, per run. */
const MALFORMED_EXAMPLES = 5;

/** What the run's JSON summary said about it (all optional: the JSON may be absent). */
export interface RunMeta {
  /** How the JSON beside the CSV was found. */
  json: "read" | "absent" | "unreadable" | "mismatched" | "given";
  jsonPath: string;
  target?: string;
  mode?: string;
  startedAt?: string;
  runId?: string;
  version?: string;
  deno?: string;
  os?: string;
  arch?: string;
  /** The options the run was started with, as the JSON lists them. */
  options?: Record<string, unknown>;
  /** Warnings the run itself printed. */
  warnings: string[];
  /** The client's CPU use as a share of all cores (0…1), and the cores. */
  cpuShare?: number;
  cores?: number;
  /** Open loop: the rate asked and the rate kept, per second. */
  rate?: { askedPerSec: number; achievedPerSec: number };
  interrupted?: boolean;
}

/** What every run carries, whatever its kind. */
interface RunCommon {
  /** Short unique name in charts and tables. */
  label: string;
  csvPath: string;
  csvBytes: number;
  /** Data rows in the CSV, malformed ones included. */
  rowsRead: number;
  /** Line number of a last row cut off mid-write (no line end), skipped; null when none. */
  tornLastLine: number | null;
  malformed: MalformedRows;
  /** Header columns the report does not use. */
  ignoredColumns: string[];
  meta: RunMeta;
  /** Things the reader should know: JSON and CSV disagreeing, and so on. */
  notes: string[];
  /** The node, for the per-node runs of a merged CSV. */
  node?: string;
}

/** A latency or connect run. */
export interface AttemptsRun extends RunCommon {
  kind: "latency" | "connect";
  data: AttemptsData;
}

/** A throughput run. */
export interface ThroughputRun extends RunCommon {
  kind: "throughput";
  data: ThroughputData;
}

/** A responsiveness run. */
export interface ResponsivenessRun extends RunCommon {
  kind: "responsiveness";
  data: ResponsivenessData;
}

/** One run of any kind, ready for the report. */
export type ReportRun = AttemptsRun | ThroughputRun | ResponsivenessRun;

/** How much of each run the report keeps. */
export interface RunLimits extends AttemptLimits {
  /** Per-connection rows kept (the notable ones beyond). */
  maxConnections: number;
}

/** The JSON path beside a CSV path: `run.csv` → `run.json`. */
export function jsonPathBeside(csvPath: string): string {
  return /\.csv$/i.test(csvPath) ? csvPath.replace(/\.csv$/i, ".json") : `${csvPath}.json`;
}

/**
 * Reads `csvPath` (and the JSON beside it, or `summary` when the caller
 * already holds it). Throws {@linkcode UsageError} naming the file and line
 * when the CSV is missing, empty, of an unknown layout, or has no usable
 * row; skips and counts malformed rows otherwise. A merged CSV (with a
 * `node` column) gives its aggregate.
 */
export async function loadRun(
  csvPath: string,
  label: string,
  limits: RunLimits,
  summary?: unknown,
): Promise<ReportRun> {
  return (await loadRuns(csvPath, label, limits, summary))[0];
}

/** A merged CSV with more nodes than this is drawn as its aggregate alone. */
export const MAX_NODE_SERIES = 16;

/** Node ids are this far apart in the aggregate's connection and stream ids. */
const NODE_ID_STRIDE = 1_000_000;

/** One aggregation of rows of a kind. */
interface RunSink {
  add(row: CsvRow): string | null;
  finish(json: Record<string, unknown> | null): ReportRun["data"];
}

/** The aggregator of a layout's kind, reading the columns where the layout has them. */
function sinkFor(layout: CsvLayout, limits: RunLimits): RunSink {
  const i = layout.index;
  if (layout.kind === "throughput") {
    const throughput = new ThroughputAggregator({
      stream: i.stream,
      worker: i.worker,
      direction: i.direction,
      startS: i.interval_start_s,
      endS: i.interval_end_s,
      bytes: i.bytes,
      omitted: i.omitted,
    });
    return { add: (row) => throughput.add(row), finish: () => throughput.finish() };
  }
  if (layout.kind === "responsiveness") {
    const responsiveness = new ResponsivenessAggregator({
      phase: i.phase,
      probe: i.probe,
      connection: i.connection,
      startUs: i.start_us,
      rttUs: i.rtt_us,
      error: i.error,
    }, limits);
    return {
      add: (row) => responsiveness.add(row),
      finish: (json) => responsiveness.finish(json ? responsivenessJsonFacts(json) : null),
    };
  }
  const latency = layout.kind === "latency";
  const attempts = new AttemptsAggregator({
    worker: i.worker,
    connection: latency ? i.connection : undefined,
    startUs: i.start_us,
    valueUs: latency ? i.rtt_us : i.connect_us,
    error: i.error,
    valueName: latency ? "rtt_us" : "connect_us",
  }, limits);
  return { add: (row) => attempts.add(row), finish: () => attempts.finish(limits.maxConnections) };
}

/**
 * A row of a merged CSV as the aggregate of all nodes sees it: each node
 * is one "worker", and connection and stream ids are kept apart by node.
 */
function nodeRow(row: CsvRow, nodeIndex: number, layout: CsvLayout): CsvRow {
  const i = layout.index;
  const apart = new Set([i.connection, i.stream].filter((c) => c !== undefined));
  const bounds = new Set([i.interval_start_s, i.interval_end_s].filter((c) => c !== undefined));
  return {
    line: row.line,
    fieldCount: row.fieldCount,
    isEmpty: (c) => (c === i.worker ? false : row.isEmpty(c)),
    number: (c) => {
      if (c === i.worker) return nodeIndex;
      const n = row.number(c);
      if (bounds.has(c)) {
        return snapToInterval(n, row.number(i.interval_end_s) - row.number(i.interval_start_s));
      }
      return apart.has(c) && Number.isFinite(n) ? nodeIndex * NODE_ID_STRIDE + n : n;
    },
    text: (c) => (c === i.worker ? String(nodeIndex) : row.text(c)),
  };
}

/**
 * Like {@linkcode loadRun}; a merged CSV (a `node` column, as `netspeed
 * merge` writes) gives its aggregate, labelled "(all nodes)", in which each
 * node is one worker, followed by one run per node (up to
 * {@linkcode MAX_NODE_SERIES}).
 */
export async function loadRuns(
  csvPath: string,
  label: string,
  limits: RunLimits,
  summary?: unknown,
): Promise<ReportRun[]> {
  let layout: CsvLayout | undefined;
  let all: RunSink | undefined;
  let nodeColumn = -1;
  const nodes = new Map<string, { index: number; sink: RunSink | null }>();
  const malformed: MalformedRows = { count: 0, examples: [] };

  const read = await readCsvFile(csvPath, (columns) => {
    const detected = detectCsvLayout(columns);
    if (typeof detected === "string") {
      throw new UsageError(`Cannot use CSV file "${csvPath}" line 1: ${detected}`);
    }
    layout = detected;
    all = sinkFor(detected, limits);
    nodeColumn = columns.findIndex((c) => c.trim().toLowerCase() === "node");
    const width = columns.length;
    return (row) => {
      let reason: string | null;
      if (row.fieldCount !== width) {
        reason = `${row.fieldCount} fields where the header has ${width}`;
      } else if (nodeColumn === -1) {
        reason = all!.add(row);
      } else {
        const id = row.text(nodeColumn);
        let node = nodes.get(id);
        if (!node) {
          const sink = nodes.size < MAX_NODE_SERIES ? sinkFor(detected, limits) : null;
          node = { index: nodes.size, sink };
          nodes.set(id, node);
        }
        reason = all!.add(nodeRow(row, node.index, detected));
        if (reason === null) node.sink?.add(row);
      }
      if (reason === null) return;
      malformed.count++;
      if (malformed.examples.length < MALFORMED_EXAMPLES) {
        malformed.examples.push({ line: row.line, reason });
      }
    };
  });

  const kind = layout!.kind;
  if (read.rows === 0) {
    throw new UsageError(`Cannot use CSV file "${csvPath}": it has a header but no data rows`);
  }
  if (malformed.count === read.rows) {
    const first = malformed.examples[0];
    throw new UsageError(
      `Cannot use CSV file "${csvPath}": none of its ${read.rows} rows is usable (line ${first.line}: ${first.reason})`,
    );
  }

  const meta = await readMeta(csvPath, kind, summary);
  const common = {
    label: nodeColumn === -1 ? label : `${label} (all nodes)`,
    csvPath,
    csvBytes: read.bytes,
    rowsRead: read.rows,
    tornLastLine: read.tornLastLine,
    malformed,
    ignoredColumns: layout!.ignored.filter((c) => c.trim().toLowerCase() !== "node"),
    meta: meta.meta,
    notes: meta.notes,
  };
  if (read.tornLastLine !== null) common.notes.push(tornLineNote(read.tornLastLine));
  if (nodes.size > MAX_NODE_SERIES) {
    common.notes.push(
      `${nodes.size} nodes: only the first ${MAX_NODE_SERIES} get their own series; the aggregate counts every node`,
    );
  }
  const aggregate = finishRun(kind, common, all!, meta.json);
  const perNode = [...nodes].flatMap(([id, node]) =>
    node.sink === null ? [] : [
      finishRun(
        kind,
        {
          ...common,
          label: id,
          node: id,
          rowsRead: 0,
          tornLastLine: null,
          malformed: { count: 0, examples: [] },
          meta: { json: "absent" as const, jsonPath: meta.meta.jsonPath, warnings: [] },
          notes: [`Node "${id}" of the merged CSV "${csvPath}"`],
        },
        node.sink,
        null,
      ),
    ]
  );
  return [aggregate, ...perNode];
}

/** The run of one sink, with the notes its data calls for. */
function finishRun(
  kind: CsvKind,
  common: Omit<ReportRun, "kind" | "data">,
  sink: RunSink,
  json: Record<string, unknown> | null,
): ReportRun {
  if (kind === "throughput") {
    return { ...common, kind, data: sink.finish(json) as ThroughputData };
  }
  if (kind === "responsiveness") {
    const data = sink.finish(json) as ResponsivenessData;
    common.notes.push(...rpmNotes(data));
    return { ...common, kind, data };
  }
  const data = sink.finish(json) as AttemptsData;
  if (json && typeof json.done === "number" && json.done !== data.successes) {
    common.notes.push(
      `The JSON summary counts ${json.done} successful ${
        kind === "latency" ? "round trips" : "connections"
      }, the CSV ${data.successes}: the charts follow the CSV`,
    );
  }
  return { ...common, kind, data };
}

/** The warning about a last row cut off mid-write, for the report and stderr. */
export function tornLineNote(line: number): string {
  return `Line ${line} has no line end: the run was cut off while writing it (killed, or a full disk), so it was skipped`;
}

/** RPM in the JSON and recomputed from the CSV this far apart (relative) is worth a note. */
const RPM_DISAGREEMENT = 0.02;

/** Notes where the RPM the run computed and the one its CSV gives disagree. */
function rpmNotes(data: ResponsivenessData): string[] {
  const notes: string[] = [];
  for (const phase of ["idle", "loaded"] as const) {
    const shown = data.rpm[phase];
    const csv = data.csvRpm[phase]?.rpm;
    if (shown?.source !== "json" || shown.rpm === null || csv == null) continue;
    if (Math.abs(csv - shown.rpm) > RPM_DISAGREEMENT * shown.rpm) {
      notes.push(
        `The JSON summary gives a ${phase} RPM of ${Math.round(shown.rpm)}, the CSV ${
          Math.round(csv)
        }: the table shows the JSON's, which the run computed from every probe it made`,
      );
    }
  }
  return notes;
}

/** Reads the JSON beside the CSV (or takes `given`) into {@linkcode RunMeta}. */
async function readMeta(
  csvPath: string,
  kind: CsvKind,
  given: unknown,
): Promise<{ meta: RunMeta; notes: string[]; json: Record<string, unknown> | null }> {
  const jsonPath = jsonPathBeside(csvPath);
  const notes: string[] = [];
  let json: unknown = given;
  let state: RunMeta["json"] = given === undefined ? "read" : "given";
  if (given === undefined) {
    try {
      json = JSON.parse(await Deno.readTextFile(jsonPath));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        state = "absent";
      } else {
        state = "unreadable";
        notes.push(
          `The JSON beside the CSV ("${jsonPath}") could not be read (${
            (error as Error).message
          }): metadata comes from the CSV alone`,
        );
      }
      json = null;
    }
  }
  const record = isRecord(json) ? json : null;
  if (record && record.command !== kind) {
    notes.push(
      `The JSON beside the CSV ("${jsonPath}") is from "${
        String(record.command)
      }", not "${kind}": it was ignored`,
    );
    return { meta: { json: "mismatched", jsonPath, warnings: [] }, notes, json: null };
  }
  if (!record) {
    return {
      meta: { json: state === "read" ? "unreadable" : state, jsonPath, warnings: [] },
      notes,
      json: null,
    };
  }
  const run = isRecord(record.run) ? record.run : {};
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  const options = isRecord(record.options) ? { ...record.options } : undefined;
  // Paths on the machine that ran the test say nothing about the run.
  if (options) { for (const key of ["csvPath", "jsonPath", "reportPath"]) delete options[key]; }
  return {
    meta: {
      json: state,
      jsonPath,
      target: text(record.target),
      mode: text(record.mode),
      startedAt: text(run.startedAt),
      runId: text(run.runId),
      version: text(run.version),
      deno: text(run.deno),
      os: text(run.os),
      arch: text(run.arch),
      options,
      warnings: Array.isArray(record.warnings) ? record.warnings.map(String) : [],
      ...runFacts(record),
    },
    notes,
    json: record,
  };
}

/** CPU use, rate kept and interruption, as a run's JSON summary records them. */
export function runFacts(
  record: Record<string, unknown>,
): Pick<RunMeta, "cpuShare" | "cores" | "rate" | "interrupted"> {
  const facts: Pick<RunMeta, "cpuShare" | "cores" | "rate" | "interrupted"> = {};
  const cpu = isRecord(record.clientCpu) ? record.clientCpu : undefined;
  if (cpu && typeof cpu.shareOfCores === "number") facts.cpuShare = cpu.shareOfCores;
  if (cpu && typeof cpu.cores === "number") facts.cores = cpu.cores;
  const rate = isRecord(record.rate) ? record.rate : undefined;
  if (rate && typeof rate.askedPerSec === "number" && typeof rate.achievedPerSec === "number") {
    facts.rate = { askedPerSec: rate.askedPerSec, achievedPerSec: rate.achievedPerSec };
  }
  if (typeof record.interrupted === "boolean") facts.interrupted = record.interrupted;
  return facts;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
