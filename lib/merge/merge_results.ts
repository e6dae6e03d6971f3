/**
 * The pure core of `netspeed merge`: many nodes' results of one kind in,
 * one result out. Histograms are added (the merged percentiles are those
 * of the union of every node's samples, never averages of percentiles),
 * counts are summed, throughput intervals are put on the wall clock and
 * summed per interval, and every reason to doubt the merge (late or
 * skewed starts, options that differ, clients out of CPU) becomes a
 * warning.
 *
 * @module
 */
import {
  decodeHistogram,
  encodeHistogram,
  type LatencyStats,
  latencyStats,
  mergeHistograms,
} from "../histogram.ts";
import type { RunInfo } from "../run_info.ts";
import { formatBitsPerSec, formatCount, formatTable, formatUs } from "../table.ts";
import { CPU_SATURATION_SHARE } from "../summary_parts.ts";
import {
  LATE_START_WARNING_MS,
  RESULT_FORMAT,
  type ResultKind,
  type RunResult,
} from "../results/run_result.ts";
import type { AnyRunResult } from "../results/load_result.ts";
import { kernelTimedLine } from "../latency/summary.ts";

/** One node's result, as loaded. */
export interface MergeInput {
  /** Where it was read, for messages. */
  source: string;
  result: AnyRunResult;
  /** Rebuilt from a CSV alone: no wall-clock times. */
  fromCsvOnly?: boolean;
}

/** Clocks of two nodes this far apart (by the server's view) get a warning, ms. */
export const SKEW_WARNING_MS = 10;

/** Options that differ by node on purpose and are not compared. */
const PER_NODE_OPTIONS = new Set([
  "nodeId",
  "csvPath",
  "jsonPath",
  "reportPath",
  "hlog",
  "progress",
  // Checked on its own (a "+10s" differs by node by nature): see startWarnings.
  "startAtEpochMs",
]);

/** One row of the per-node table, and the `nodes[]` of the merged JSON. */
export interface MergedNode {
  id: string;
  host: string;
  source: string;
  mode: string;
  runId: string;
  /** Successful and failed attempts (streams for throughput). */
  ok: number;
  failed: number;
  /** How late measuring began after `--start-at`, ms; null without one. */
  lateMs: number | null;
  /** Measuring began, ms from the merged window's start (this node's clock). */
  startOffsetMs: number;
  /** Length of this node's measured window, s. */
  seconds: number;
  /** This node's clock minus the server's, ms, when the run checked it (`--time-port`); else null. */
  clockOffsetMs: number | null;
  /** ± bound of `clockOffsetMs` (half the round trip to the time service), ms. */
  clockUncertaintyMs: number | null;
  /** Client CPU over the run as a share of its cores, when known. */
  cpuShare: number | null;
  /** Latency and connect: the node's own figures, µs. */
  stats: LatencyStats | null;
  /** Throughput: payload bits per second over the node's measured time, both directions. */
  bitsPerSec: number | null;
  /** Responsiveness: RPM idle and loaded. */
  rpm: { idle: number | null; loaded: number | null } | null;
  warnings: string[];
}

/** One interval of the throughput aggregate, on the wall clock. */
export interface MergedInterval {
  /** Seconds from the merged window's start. */
  startSeconds: number;
  endSeconds: number;
  /** Sum over nodes, per direction (bytes the nodes moved in this interval). */
  upBytes: number;
  downBytes: number;
  bitsPerSec: number;
  /** Bits per second of each node in this interval, by node id. */
  byNode: Record<string, number>;
}

/** The merged result: a run result of the nodes' kind, with `merge` saying how it was made. */
export interface MergedResult extends RunResult {
  target: string | null;
  done: number;
  failed: number;
  errors: Record<string, number>;
  measuredSeconds: number;
  /** Latency (and UDP throughput): round trips of all nodes, µs, from the summed histogram. */
  rtt?: LatencyStats;
  /** Connect: set-up times of all nodes, µs, from the summed histogram. */
  connectTime?: LatencyStats;
  /** The summed histogram of `rtt` or `connectTime` (ns), compressed base64. */
  histogram?: string;
  /** Throughput: the aggregate per interval and in total. */
  intervals?: MergedInterval[];
  totals?: { upBytes: number; downBytes: number; bitsPerSec: number };
  /** Responsiveness: probe times of all nodes by histogram name, µs. */
  probes?: Record<string, LatencyStats>;
  /**
   * Latency over TCP with `--kernel-timestamps` on every node: the round
   * trips that ended at the kernel's receive time, summed; absent when a
   * node did not ask (a warning then says the option differs).
   */
  kernelTimed?: number;
  csv: { path: string; rows: number } | null;
  merge: {
    /** The inputs, in order. */
    inputs: string[];
    nodes: MergedNode[];
    /** The wall-clock instant `startOffsetMs` and the CSV times count from, ms since the epoch. */
    originEpochMs: number;
  };
}

/** The histogram name the summary's headline figures come from. */
function headlineHistogram(kind: ResultKind): string | null {
  if (kind === "latency" || kind === "throughput") return "rtt";
  if (kind === "connect") return "connect";
  return null;
}

/**
 * Merges results of one kind. The caller has checked that there is at
 * least one and that all are of one kind; `run` is the merge's own
 * identity.
 */
export function mergeResults(inputs: readonly MergeInput[], run: RunInfo): MergedResult {
  const kind = inputs[0].result.kind;
  const ids = uniqueIds(inputs.map((i) => i.result.node.id));
  const originEpochMs = Math.min(...inputs.map((i) => i.result.window.startEpochMs));
  const endEpochMs = Math.max(...inputs.map((i) => i.result.window.endEpochMs));
  const warnings: string[] = [];

  // Histograms: the exact sum of every node's, name by name.
  const names = [...new Set(inputs.flatMap((i) => Object.keys(i.result.histograms)))].sort();
  const histograms: Record<string, string> = {};
  for (const name of names) {
    const parts = inputs.flatMap((i, n) => {
      const encoded = i.result.histograms[name];
      return encoded === undefined ? [] : [decodeOrThrow(encoded, inputs[n].source, name)];
    });
    histograms[name] = encodeHistogram(mergeHistograms(parts));
  }

  const byOutcome: Record<string, number> = {};
  for (const i of inputs) {
    for (const [outcome, n] of Object.entries(i.result.counts.byOutcome)) {
      byOutcome[outcome] = (byOutcome[outcome] ?? 0) + n;
    }
  }
  const ok = inputs.reduce((a, i) => a + i.result.counts.ok, 0);
  const failed = inputs.reduce((a, i) => a + i.result.counts.failed, 0);

  const nodes = inputs.map((input, n) => mergedNode(input, ids[n], originEpochMs));
  // One run given twice, directly or inside an earlier merge, counts twice.
  const seenRuns = new Map<string, string>();
  nodes.forEach((node, n) => {
    const inner = (inputs[n].result.merge as { nodes?: { runId?: unknown }[] } | undefined)?.nodes;
    const runIds = [node.runId, ...(inner ?? []).map((m) => String(m.runId ?? ""))];
    for (const runId of runIds.filter((id) => id !== "")) {
      const first = seenRuns.get(runId);
      if (first !== undefined && first !== node.id) {
        warnings.push(
          `Node ${node.id} holds the same run as node ${first} (run id ${runId}): its samples are counted twice`,
        );
      } else seenRuns.set(runId, node.id);
    }
  });
  warnings.push(...startWarnings(inputs, ids, nodes));
  warnings.push(...optionWarnings(inputs, ids));
  for (const node of nodes) {
    if (node.cpuShare !== null && node.cpuShare >= CPU_SATURATION_SHARE) {
      warnings.push(
        `Node ${node.id}: the client used ${
          (node.cpuShare * 100).toFixed(0)
        }% of its cores and may have run out of CPU: its figures include its own queueing`,
      );
    }
    for (const w of node.warnings) warnings.push(`Node ${node.id}: ${w}`);
  }
  if (new Set(inputs.map((i) => i.result.mode)).size > 1) {
    warnings.push(
      `The nodes measured in different modes (${
        nodes.map((n) => `${n.id}: ${n.mode}`).join(", ")
      }): the merged figures mix them`,
    );
  }

  const measuredSeconds = Math.max(0, (endEpochMs - originEpochMs) / 1000);
  const headline = headlineHistogram(kind);
  const headlineStats = headline && histograms[headline] !== undefined
    ? latencyStats(decodeHistogram(histograms[headline]))
    : undefined;
  const first = inputs[0].result;
  const merged: MergedResult = {
    command: kind,
    kind,
    mode: new Set(inputs.map((i) => i.result.mode)).size === 1 ? first.mode : "mixed",
    resultFormat: RESULT_FORMAT,
    node: { id: "merged", host: run.hostname },
    run,
    options: commonOptions(inputs),
    start: {
      askedAt: first.start.askedAt,
      askedEpochMs: first.start.askedEpochMs,
      lateMs: Math.max(...inputs.map((i) => i.result.start.lateMs)),
    },
    window: { originEpochMs, startEpochMs: originEpochMs, endEpochMs },
    interrupted: inputs.some((i) => i.result.interrupted),
    counts: { ok, failed, byOutcome },
    histograms,
    files: { csv: null, hlog: null, json: null },
    warnings,
    target: typeof first.target === "string" ? first.target : null,
    done: ok,
    failed,
    errors: byOutcome,
    measuredSeconds,
    csv: null,
    merge: { inputs: inputs.map((i) => i.source), nodes, originEpochMs },
  };
  if (headline && headlineStats) {
    if (kind === "connect") merged.connectTime = headlineStats;
    else merged.rtt = headlineStats;
    merged.histogram = histograms[headline];
  }
  const kernelTimed = inputs.map((i) => i.result.kernelTimed);
  if (kind === "latency" && kernelTimed.every((k) => typeof k === "number")) {
    merged.kernelTimed = (kernelTimed as number[]).reduce((a, k) => a + k, 0);
  }
  if (kind === "throughput") {
    merged.intervals = aggregateIntervals(inputs, ids, originEpochMs);
    const upBytes = merged.intervals.reduce((a, i) => a + i.upBytes, 0);
    const downBytes = merged.intervals.reduce((a, i) => a + i.downBytes, 0);
    const seconds = merged.intervals.length === 0
      ? 0
      : merged.intervals[merged.intervals.length - 1].endSeconds - merged.intervals[0].startSeconds;
    merged.totals = {
      upBytes,
      downBytes,
      bitsPerSec: seconds > 0 ? (upBytes + downBytes) * 8 / seconds : 0,
    };
  }
  if (kind === "responsiveness") {
    merged.probes = Object.fromEntries(
      names.map((name) => [name, latencyStats(decodeHistogram(histograms[name]))]),
    );
  }
  return merged;
}

/** Node ids made unique: a second "a" becomes "a#2". */
export function uniqueIds(ids: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return ids.map((id) => {
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    return n === 1 ? id : `${id}#${n}`;
  });
}

function decodeOrThrow(encoded: string, source: string, name: string) {
  try {
    return decodeHistogram(encoded);
  } catch (error) {
    throw new MergeDataError(
      `Cannot use result "${source}": its histogram "${name}" does not decode (${
        (error as Error).message
      })`,
    );
  }
}

/** A result whose data cannot be merged (a histogram that does not decode). */
export class MergeDataError extends Error {
  override name = "MergeDataError";
}

function mergedNode(input: MergeInput, id: string, originEpochMs: number): MergedNode {
  const r = input.result;
  const headline = headlineHistogram(r.kind);
  const encoded = headline ? r.histograms[headline] : undefined;
  const cpu = r.clientCpu as { shareOfCores?: unknown } | undefined;
  const clock = r.clock as { offsetMs?: unknown; uncertaintyMs?: unknown } | undefined | null;
  return {
    id,
    host: r.node.host,
    source: input.source,
    mode: r.mode,
    runId: r.run.runId,
    ok: r.counts.ok,
    failed: r.counts.failed,
    lateMs: r.start.askedEpochMs === null ? null : r.start.lateMs,
    startOffsetMs: r.window.startEpochMs - originEpochMs,
    seconds: Math.max(0, (r.window.endEpochMs - r.window.startEpochMs) / 1000),
    clockOffsetMs: typeof clock?.offsetMs === "number" ? clock.offsetMs : null,
    clockUncertaintyMs: typeof clock?.uncertaintyMs === "number" ? clock.uncertaintyMs : null,
    cpuShare: typeof cpu?.shareOfCores === "number" ? cpu.shareOfCores : null,
    stats: encoded === undefined ? null : latencyStats(decodeOrThrow(encoded, input.source, "rtt")),
    bitsPerSec: r.kind === "throughput" ? nodeBitsPerSec(r) : null,
    rpm: r.kind === "responsiveness" ? nodeRpm(r) : null,
    warnings: [...r.warnings],
  };
}

function nodeBitsPerSec(r: AnyRunResult): number | null {
  const totals = r.totals as { all?: { bitsPerSec?: number } } | undefined;
  if (typeof totals?.all?.bitsPerSec === "number") return totals.all.bitsPerSec;
  const bitrate = r.bitrate as { echoedBitsPerSec?: number } | undefined;
  return typeof bitrate?.echoedBitsPerSec === "number" ? bitrate.echoedBitsPerSec : null;
}

function nodeRpm(r: AnyRunResult): { idle: number | null; loaded: number | null } {
  const rpm = (phase: unknown) => {
    const value = (phase as { responsiveness?: { rpm?: unknown } } | null)?.responsiveness?.rpm;
    return typeof value === "number" ? value : null;
  };
  return { idle: rpm(r.idle), loaded: rpm(r.loaded) };
}

/** Warnings about when the nodes started: late, given different instants, skewed clocks, apart. */
function startWarnings(
  inputs: readonly MergeInput[],
  ids: readonly string[],
  nodes: readonly MergedNode[],
): string[] {
  const warnings: string[] = [];
  inputs.forEach((input, n) => {
    if (input.result.start.lateMs > LATE_START_WARNING_MS) {
      warnings.push(
        `Node ${ids[n]} began measuring ${
          input.result.start.lateMs.toFixed(1)
        } ms after --start-at: its window is shorter and later than the others'`,
      );
    }
    if (input.fromCsvOnly) {
      warnings.push(
        `Node ${
          ids[n]
        } comes from a CSV alone: its times are not on the wall clock, so its rows cannot be aligned with the others'`,
      );
    }
  });
  const asked = new Set(inputs.map((i) => i.result.start.askedEpochMs));
  if (inputs.length > 1 && asked.size > 1) {
    warnings.push(
      asked.has(null)
        ? "Some nodes were given --start-at and some not: their windows need not overlap"
        : `The nodes were given different --start-at instants (${
          [...asked].map((a) => new Date(a as number).toISOString()).join(", ")
        })`,
    );
  }
  // Clocks: each node's offset from the server it measured against; two
  // nodes whose offsets differ disagree about every timestamp by as much.
  const offsets = nodes.filter((n) => n.clockOffsetMs !== null);
  if (offsets.length >= 2) {
    const sorted = offsets.map((n) => n.clockOffsetMs!).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    for (const node of offsets) {
      const skew = node.clockOffsetMs! - median;
      // Within its own uncertainty, an offset proves nothing.
      if (Math.abs(skew) > SKEW_WARNING_MS + (node.clockUncertaintyMs ?? 0)) {
        warnings.push(
          `Node ${node.id}'s clock is ${Math.abs(skew).toFixed(1)} ms ${
            skew > 0 ? "ahead of" : "behind"
          } the others' (by the server's clock): it started ${
            skew > 0 ? "early" : "late"
          } by as much, and its times do not line up with theirs`,
        );
      }
    }
  }
  // Without a common start, windows may not even overlap.
  const latestStart = Math.max(...inputs.map((i) => i.result.window.startEpochMs));
  const earliestEnd = Math.min(...inputs.map((i) => i.result.window.endEpochMs));
  if (inputs.length > 1 && latestStart > earliestEnd) {
    warnings.push(
      "The nodes' measured windows do not all overlap: they did not measure at the same time",
    );
  }
  return warnings;
}

/** Options every node agrees on; those that differ are left out (and warned about). */
function commonOptions(inputs: readonly MergeInput[]): Record<string, unknown> {
  const first = inputs[0].result.options as Record<string, unknown>;
  const common: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(first)) {
    if (PER_NODE_OPTIONS.has(key)) continue;
    const same = inputs.every((i) =>
      JSON.stringify((i.result.options as Record<string, unknown>)[key]) === JSON.stringify(value)
    );
    if (same) common[key] = value;
  }
  return common;
}

/** One warning per option whose value differs between nodes. */
function optionWarnings(inputs: readonly MergeInput[], ids: readonly string[]): string[] {
  if (inputs.length < 2) return [];
  const keys = new Set(
    inputs.flatMap((i) => Object.keys(i.result.options as Record<string, unknown>)),
  );
  const warnings: string[] = [];
  for (const key of [...keys].sort()) {
    if (PER_NODE_OPTIONS.has(key)) continue;
    const values = inputs.map((i) =>
      JSON.stringify((i.result.options as Record<string, unknown>)[key]) ?? "none"
    );
    if (new Set(values).size > 1) {
      warnings.push(
        `Option ${key} differs between nodes (${
          ids.map((id, n) => `${id}: ${values[n]}`).join(", ")
        }): the merged figures mix different tests`,
      );
    }
  }
  return warnings;
}

/** A node's measured throughput intervals, on its wall clock. */
interface WallInterval {
  startEpochMs: number;
  endEpochMs: number;
  upBytes: number;
  downBytes: number;
}

/** The measured intervals of a TCP or UDP throughput summary, on the node's wall clock. */
export function wallIntervals(r: AnyRunResult): WallInterval[] {
  const origin = r.window.originEpochMs;
  const list = Array.isArray(r.intervals) ? r.intervals as Record<string, unknown>[] : [];
  const out: WallInterval[] = [];
  for (const i of list) {
    if (i.omitted === true) continue;
    if (typeof i.startSeconds === "number" && typeof i.endSeconds === "number") {
      const bytes = (d: unknown) => (d as { bytes?: number } | null)?.bytes ?? 0;
      out.push({
        startEpochMs: origin + i.startSeconds * 1000,
        endEpochMs: origin + i.endSeconds * 1000,
        upBytes: bytes(i.up),
        downBytes: bytes(i.down),
      });
    } else if (typeof i.startMs === "number" && typeof i.endMs === "number") {
      // UDP: sent is the way up, echoed the way back.
      out.push({
        startEpochMs: origin + i.startMs,
        endEpochMs: origin + i.endMs,
        upBytes: typeof i.sentBytes === "number" ? i.sentBytes : 0,
        downBytes: typeof i.echoedBytes === "number" ? i.echoedBytes : 0,
      });
    }
  }
  return out;
}

/**
 * Sums the nodes' throughput per interval of one wall-clock grid: the
 * grid starts at the earliest measured interval and steps by the first
 * node's interval length. A node interval straddling two grid intervals
 * is split between them in proportion to the overlap (its bytes assumed
 * even over it), so no byte is lost or counted twice.
 */
export function aggregateIntervals(
  inputs: readonly MergeInput[],
  ids: readonly string[],
  originEpochMs: number,
): MergedInterval[] {
  const perNode = inputs.map((i) => wallIntervals(i.result));
  const all = perNode.flat();
  if (all.length === 0) return [];
  const lengths = all.map((i) => i.endEpochMs - i.startEpochMs).filter((l) => l > 0);
  const stepMs = lengths.length === 0 ? 1000 : median(lengths);
  const gridStart = Math.min(...all.map((i) => i.startEpochMs));
  const gridEnd = Math.max(...all.map((i) => i.endEpochMs));
  const count = Math.max(1, Math.ceil((gridEnd - gridStart) / stepMs - 1e-9));
  const bins: MergedInterval[] = Array.from({ length: count }, (_, b) => ({
    startSeconds: (gridStart + b * stepMs - originEpochMs) / 1000,
    endSeconds: (Math.min(gridEnd, gridStart + (b + 1) * stepMs) - originEpochMs) / 1000,
    upBytes: 0,
    downBytes: 0,
    bitsPerSec: 0,
    byNode: Object.fromEntries(ids.map((id) => [id, 0])),
  }));
  const nodeBytes = bins.map(() => new Map<string, number>());
  perNode.forEach((intervals, n) => {
    for (const i of intervals) {
      const length = i.endEpochMs - i.startEpochMs;
      const firstBin = Math.max(0, Math.floor((i.startEpochMs - gridStart) / stepMs));
      for (let b = firstBin; b < count; b++) {
        const binStart = gridStart + b * stepMs;
        const binEnd = binStart + stepMs;
        if (binStart >= i.endEpochMs) break;
        const overlap = Math.min(binEnd, i.endEpochMs) - Math.max(binStart, i.startEpochMs);
        if (overlap <= 0 && length > 0) continue;
        const share = length > 0 ? overlap / length : 1;
        bins[b].upBytes += i.upBytes * share;
        bins[b].downBytes += i.downBytes * share;
        const m = nodeBytes[b];
        m.set(ids[n], (m.get(ids[n]) ?? 0) + (i.upBytes + i.downBytes) * share);
        if (length === 0) break;
      }
    }
  });
  bins.forEach((bin, b) => {
    const seconds = bin.endSeconds - bin.startSeconds;
    const rate = (bytes: number) => (seconds > 0 ? bytes * 8 / seconds : 0);
    bin.bitsPerSec = rate(bin.upBytes + bin.downBytes);
    for (const [id, bytes] of nodeBytes[b]) bin.byNode[id] = rate(bytes);
  });
  return bins;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The per-node table and the aggregate row, as `merge` prints them. */
export function formatMergeSummary(m: MergedResult): string {
  const nodes = m.merge.nodes;
  const lines = [
    `netspeed merge: ${nodes.length} node${nodes.length === 1 ? "" : "s"}, ${m.kind} (${m.mode}), ${
      m.measuredSeconds.toFixed(2)
    } s from the first start to the last end`,
    "",
  ];
  const late = (n: MergedNode) => (n.lateMs === null ? "-" : n.lateMs.toFixed(1));
  const clock = (n: MergedNode) => (n.clockOffsetMs === null ? "-" : n.clockOffsetMs.toFixed(1));
  if (m.kind === "latency" || m.kind === "connect") {
    const header = ["node", "late ms", "clock ms", "done", "failed", "p50", "p90", "p99", "max"];
    const cells = (s: LatencyStats | null | undefined) =>
      s && s.count > 0 ? [s.p50Us, s.p90Us, s.p99Us, s.maxUs].map(formatUs) : ["-", "-", "-", "-"];
    const rows = nodes.map((n) => [
      n.id,
      late(n),
      clock(n),
      formatCount(n.ok),
      formatCount(n.failed),
      ...cells(n.stats),
    ]);
    rows.push([
      "all",
      "",
      "",
      formatCount(m.done),
      formatCount(m.failed),
      ...cells(m.rtt ?? m.connectTime),
    ]);
    lines.push(formatTable(header, rows));
    lines.push("");
    lines.push(
      `${
        m.kind === "latency" ? "Round-trip" : "Set-up"
      } times in microseconds; "all" is from the sum of the nodes' histograms (the union of their samples), not an average.`,
    );
    if (m.kernelTimed !== undefined) {
      lines.push(kernelTimedLine(m.kernelTimed, m.done, "round trips"));
    }
  } else if (m.kind === "throughput") {
    const rows = nodes.map((n) => [
      n.id,
      late(n),
      clock(n),
      n.bitsPerSec === null ? "-" : formatBitsPerSec(n.bitsPerSec),
      formatCount(n.ok),
      formatCount(n.failed),
    ]);
    rows.push([
      "all",
      "",
      "",
      formatBitsPerSec(m.totals?.bitsPerSec ?? 0),
      formatCount(m.done),
      formatCount(m.failed),
    ]);
    lines.push(formatTable(["node", "late ms", "clock ms", "bitrate", "streams", "failed"], rows));
    lines.push("");
    lines.push(
      `"all" is the sum over nodes per interval on the wall clock: what the nodes got together.`,
    );
  } else {
    const rpm = (v: number | null | undefined) => (v == null ? "-" : formatCount(v));
    const rows = nodes.map((n) => [
      n.id,
      late(n),
      clock(n),
      rpm(n.rpm?.idle),
      rpm(n.rpm?.loaded),
      formatCount(n.ok),
      formatCount(n.failed),
    ]);
    lines.push(
      formatTable(
        ["node", "late ms", "clock ms", "idle RPM", "loaded RPM", "probes", "failed"],
        rows,
      ),
    );
  }
  for (const warning of m.warnings) lines.push(`Warning: ${warning}`);
  return lines.join("\n");
}
