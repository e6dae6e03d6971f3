/**
 * The summary of a throughput run: what was asked beside what happened,
 * totals per direction and for all streams, a row per stream, the spread
 * between streams, per-interval figures, and warnings for figures that
 * should not be trusted. Pure: tallies in, data and text out.
 *
 * @module
 */
import type { RunInfo } from "../run_info.ts";
import type { ClientCpu } from "../worker_group.ts";
import {
  buildRunResult,
  outcomeCounts,
  resultOfTally,
  type RunResult,
  type TallyTiming,
} from "../results/run_result.ts";
import { formatBitsPerSec, formatCount, formatTable } from "../table.ts";
import { cpuWarning, INTERRUPTED_WARNING, shareOfCores } from "../summary_parts.ts";
import { formatHostPort } from "../units.ts";
import { describeErrorKind } from "../net_io.ts";
import type { ErrorKind, TransferDirection } from "../worker_protocol.ts";
import { bitsPerSec } from "./csv_rows.ts";
import {
  directionsOf,
  serviceOf,
  type ThroughputMode,
  type ThroughputOptions,
  workerCount,
} from "./options.ts";
import type { IntervalTally, StreamTally, WorkerStreamFailure } from "./tally.ts";

/** Bytes and rate of a set of streams over the measured time. */
export interface TransferTotal {
  bytes: number;
  bitsPerSec: number;
}

/** How evenly the streams of one direction shared the path. */
export interface StreamSpread {
  streams: number;
  minBitsPerSec: number;
  maxBitsPerSec: number;
  meanBitsPerSec: number;
  stddevBitsPerSec: number;
  /** Coefficient of variation, stddev / mean: 0 when every stream got the same. */
  cv: number;
  /** Stream with the lowest rate. */
  minStream: number;
  /** Stream with the highest rate. */
  maxStream: number;
}

/** One stream in one direction. */
export interface StreamSummary {
  stream: number;
  worker: number;
  direction: TransferDirection;
  /** Bytes in measured intervals. */
  bytes: number;
  /** Bytes over the whole measured time, even when the stream failed before its end. */
  bitsPerSec: number;
  /** Measured intervals in which it moved nothing. */
  emptyIntervals: number;
  /** Why it stopped early, or null. */
  failure: { kind: ErrorKind; message: string; atSeconds: number | null } | null;
}

/** One direction in one interval, across streams. */
export interface IntervalDirectionSummary {
  bytes: number;
  bitsPerSec: number;
  minStreamBitsPerSec: number;
  maxStreamBitsPerSec: number;
}

/** One interval across streams. */
export interface IntervalSummary {
  index: number;
  startSeconds: number;
  endSeconds: number;
  omitted: boolean;
  up: IntervalDirectionSummary | null;
  down: IntervalDirectionSummary | null;
}

/** What each direction counts, written into every summary so a reader need not guess. */
export const COUNTING: Readonly<Record<TransferDirection, string>> = Object.freeze({
  up:
    "bytes the client's writes handed to its socket (the discard or echo server's own count is not visible to the client)",
  down: "bytes the client read from the socket",
});

/** A service a direction was measured against. */
export interface ServiceUsed {
  name: "discard" | "chargen" | "echo";
  /** HOST:PORT. */
  address: string;
}

/** The JSON summary of `netspeed throughput` (see the README for each field). */
export interface ThroughputSummary extends
  RunResult<
    "throughput",
    Omit<ThroughputOptions, "direction"> & {
      direction: ThroughputMode | "up then down";
      workers: number;
    }
  > {
  /** The host; the service and port of each direction are in `services`. */
  target: string;
  /** Service each direction talked to. */
  services: Partial<Record<TransferDirection, ServiceUsed>>;
  directions: TransferDirection[];
  counting: Partial<Record<TransferDirection, string>>;
  /** Seconds counted in the totals: from the end of `--omit` to the end of the run. */
  measuredSeconds: number;
  /** Totals per direction (null when not measured) and for both together. */
  totals: { up: TransferTotal | null; down: TransferTotal | null; all: TransferTotal };
  /** Streams that connected and moved data. */
  liveStreams: number;
  streams: StreamSummary[];
  /** Spread between streams per direction (null when not measured). */
  spread: { up: StreamSpread | null; down: StreamSpread | null };
  intervals: IntervalSummary[];
  /** Failed streams (to connect or during the run), by kind. */
  errors: Partial<Record<ErrorKind, number>>;
  /** Process CPU time over the run, as a share of all cores. */
  clientCpu: ClientCpu & { shareOfCores: number };
  /** CSV file and its data rows, when one was written. */
  csv: { path: string; rows: number } | null;
  /** The summaries of each run, when this one combines runs made one after the other. */
  runs?: ThroughputSummary[];
}

/** What the command counted during the run. */
export interface ThroughputRunTally extends TallyTiming {
  options: ThroughputOptions;
  run: RunInfo;
  interrupted: boolean;
  /** End of the run, ms from the common start (the last interval end reported). */
  endMs: number;
  streams: StreamTally[];
  intervals: IntervalTally[];
  failures: WorkerStreamFailure[];
  cpu: ClientCpu;
  csv: { path: string; rows: number } | null;
}

/** A stream below this share of the mean stream's rate is called starved. */
export const STARVED_SHARE = 0.5;

/** A first measured interval this many times the median of the rest gets a warning. */
export const FIRST_INTERVAL_RATIO = 1.5;

/** Spread of per-stream rates; null when there are none. */
export function streamSpread(
  streams: { stream: number; bitsPerSec: number }[],
): StreamSpread | null {
  if (streams.length === 0) return null;
  const rates = streams.map((s) => s.bitsPerSec);
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const stddev = Math.sqrt(rates.reduce((a, r) => a + (r - mean) ** 2, 0) / rates.length);
  let min = streams[0];
  let max = streams[0];
  for (const s of streams) {
    if (s.bitsPerSec < min.bitsPerSec) min = s;
    if (s.bitsPerSec > max.bitsPerSec) max = s;
  }
  return {
    streams: streams.length,
    minBitsPerSec: min.bitsPerSec,
    maxBitsPerSec: max.bitsPerSec,
    meanBitsPerSec: mean,
    stddevBitsPerSec: stddev,
    cv: mean > 0 ? stddev / mean : 0,
    minStream: min.stream,
    maxStream: max.stream,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function intervalDirection(
  interval: IntervalTally,
  direction: TransferDirection,
): IntervalDirectionSummary | null {
  const d = interval.directions.get(direction);
  if (!d) return null;
  const rates = [...d.streamBitsPerSec.values()];
  return {
    bytes: d.bytes,
    bitsPerSec: bitsPerSec(d.bytes, (interval.endMs - interval.startMs) / 1000),
    minStreamBitsPerSec: Math.min(...rates),
    maxStreamBitsPerSec: Math.max(...rates),
  };
}

/** Builds the summary from the run's tallies. */
export function summarizeThroughput(t: ThroughputRunTally): ThroughputSummary {
  const o = t.options;
  const directions = directionsOf(o.direction);
  const measuredSeconds = Math.max(0, (t.endMs - o.omitMs) / 1000);
  const failureOf = new Map(t.failures.map((f) => [f.stream, f]));

  const streams: StreamSummary[] = t.streams.map((s) => {
    const f = failureOf.get(s.stream);
    return {
      stream: s.stream,
      worker: s.worker,
      direction: s.direction,
      bytes: s.bytes,
      bitsPerSec: bitsPerSec(s.bytes, measuredSeconds),
      emptyIntervals: s.emptyIntervals,
      failure: f
        ? { kind: f.kind, message: f.message, atSeconds: f.atMs === null ? null : f.atMs / 1000 }
        : null,
    };
  });
  const total = (list: StreamSummary[]): TransferTotal => {
    const bytes = list.reduce((a, s) => a + s.bytes, 0);
    return { bytes, bitsPerSec: bitsPerSec(bytes, measuredSeconds) };
  };
  const of = (direction: TransferDirection) => streams.filter((s) => s.direction === direction);
  const measures = (direction: TransferDirection) => directions.includes(direction);

  const intervals: IntervalSummary[] = t.intervals.map((interval) => ({
    index: interval.index,
    startSeconds: interval.startMs / 1000,
    endSeconds: interval.endMs / 1000,
    omitted: interval.omitted,
    up: intervalDirection(interval, "up"),
    down: intervalDirection(interval, "down"),
  }));

  const errors: Partial<Record<ErrorKind, number>> = {};
  for (const f of t.failures) errors[f.kind] = (errors[f.kind] ?? 0) + 1;
  const liveStreams = new Set(streams.map((s) => s.stream)).size;

  const warnings: string[] = [];
  for (const f of [...t.failures].sort((a, b) => a.stream - b.stream)) {
    warnings.push(
      f.atMs === null
        ? `Stream ${f.stream} failed before the start: ${describeErrorKind(f.kind)} (${f.message})`
        : `Stream ${f.stream} failed after ${(f.atMs / 1000).toFixed(2)} s: ${
          describeErrorKind(f.kind)
        } (${f.message}); its rate is over the whole run`,
    );
  }
  for (const direction of directions) {
    const list = of(direction);
    const spread = streamSpread(list);
    if (spread && spread.streams >= 2 && spread.meanBitsPerSec > 0) {
      for (const s of list) {
        if (s.bitsPerSec < STARVED_SHARE * spread.meanBitsPerSec) {
          warnings.push(
            `Stream ${s.stream} (${direction}) got ${
              (s.bitsPerSec / spread.meanBitsPerSec * 100).toFixed(0)
            }% of the mean stream rate: it starved`,
          );
        }
      }
    }
    for (const s of list) {
      if (s.emptyIntervals > 0 && s.failure === null) {
        warnings.push(
          `Stream ${s.stream} (${direction}) moved nothing in ${s.emptyIntervals} measured interval${
            s.emptyIntervals === 1 ? "" : "s"
          }`,
        );
      }
    }
    const measured = intervals.filter((i) => !i.omitted && i[direction] !== null);
    if (measured.length >= 3) {
      const rest = median(measured.slice(1).map((i) => i[direction]!.bitsPerSec));
      const first = measured[0][direction]!.bitsPerSec;
      if (rest > 0 && first > FIRST_INTERVAL_RATIO * rest) {
        warnings.push(
          `The first measured interval (${direction}) is ${
            (first / rest).toFixed(1)
          }x the median of the others: TCP slow start or buffers filling inflate it; --omit leaves such a start out`,
        );
      }
    }
  }
  const cpuShare = shareOfCores(t.cpu);
  const cpu = cpuWarning(cpuShare, t.cpu.cores, "the path may carry more than measured");
  if (cpu) warnings.push(cpu);
  if (measuredSeconds === 0 && liveStreams > 0) {
    warnings.push("Nothing was measured: the run stopped before the end of --omit");
  }
  if (t.interrupted) {
    warnings.push(INTERRUPTED_WARNING);
  }

  const service = serviceOf(o.direction);
  const used: ServiceUsed = {
    name: service,
    address: formatHostPort({ host: o.host, port: o.ports[service] }),
  };
  return {
    ...resultOfTally(t, {
      kind: "throughput",
      mode: o.direction,
      options: { ...o, workers: workerCount(o) },
      measuredSeconds: t.endMs / 1000,
      ok: streams.filter((s) => s.failure === null).length,
      errors,
      histograms: {},
      warnings,
    }),
    target: o.host,
    services: Object.fromEntries(directions.map((d) => [d, used])),
    directions,
    counting: Object.fromEntries(directions.map((d) => [d, COUNTING[d]])),
    measuredSeconds,
    totals: {
      up: measures("up") ? total(of("up")) : null,
      down: measures("down") ? total(of("down")) : null,
      all: total(streams),
    },
    liveStreams,
    streams,
    spread: {
      up: measures("up") ? streamSpread(of("up")) : null,
      down: measures("down") ? streamSpread(of("down")) : null,
    },
    intervals,
    errors,
    clientCpu: {
      userSeconds: t.cpu.userSeconds,
      systemSeconds: t.cpu.systemSeconds,
      shareOfCores: cpuShare,
      cores: t.cpu.cores,
      seconds: t.cpu.seconds,
    },
    csv: t.csv,
  };
}

/**
 * One summary for runs made one after the other (up, then down), each on
 * its own timeline from its own start: totals, streams, spread and
 * warnings per direction come from the run that measured it; intervals
 * are paired by index; `all` is every byte over the sum of the measured
 * times, since the runs did not overlap.
 */
export function combineThroughputSummaries(
  run: RunInfo,
  runs: ThroughputSummary[],
): ThroughputSummary {
  const first = runs[0];
  const from = (d: TransferDirection) => runs.find((r) => r.directions.includes(d));
  const measuredSeconds = runs.reduce((a, r) => a + r.measuredSeconds, 0);
  const bytes = runs.reduce((a, r) => a + r.totals.all.bytes, 0);
  const byIndex = new Map<number, IntervalSummary>();
  for (const r of runs) {
    for (const i of r.intervals) {
      const merged = byIndex.get(i.index) ?? { ...i, up: null, down: null };
      merged.endSeconds = Math.max(merged.endSeconds, i.endSeconds);
      merged.up ??= i.up;
      merged.down ??= i.down;
      byIndex.set(i.index, merged);
    }
  }
  const errors: Partial<Record<ErrorKind, number>> = {};
  for (const r of runs) {
    for (const [kind, n] of Object.entries(r.errors) as [ErrorKind, number][]) {
      errors[kind] = (errors[kind] ?? 0) + n;
    }
  }
  const cpu = runs.map((r) => r.clientCpu);
  const last = runs[runs.length - 1];
  return {
    ...buildRunResult({
      kind: "throughput",
      mode: "up then down",
      run,
      nodeId: first.node.id,
      options: { ...first.options, direction: "up then down" },
      timing: {
        askedStartEpochMs: first.start.askedEpochMs,
        startEpochMs: first.window.startEpochMs,
        endEpochMs: last.window.endEpochMs,
      },
      originEpochMs: first.window.originEpochMs,
      interrupted: runs.some((r) => r.interrupted),
      counts: outcomeCounts(runs.reduce((a, r) => a + r.counts.ok, 0), errors),
      histograms: {},
      files: { csv: first.files.csv ?? undefined, json: first.files.json ?? undefined },
      warnings: runs.flatMap((r) => r.warnings.map((w) => `${r.options.direction} run: ${w}`)),
    }),
    target: first.target,
    services: Object.assign({}, ...runs.map((r) => r.services)),
    directions: runs.flatMap((r) => r.directions),
    counting: Object.assign({}, ...runs.map((r) => r.counting)),
    measuredSeconds,
    totals: {
      up: from("up")?.totals.up ?? null,
      down: from("down")?.totals.down ?? null,
      all: { bytes, bitsPerSec: bitsPerSec(bytes, measuredSeconds) },
    },
    liveStreams: Math.max(...runs.map((r) => r.liveStreams)),
    streams: runs.flatMap((r) => r.streams),
    spread: { up: from("up")?.spread.up ?? null, down: from("down")?.spread.down ?? null },
    intervals: [...byIndex.values()].sort((a, b) => a.index - b.index),
    errors,
    clientCpu: {
      userSeconds: cpu.reduce((a, c) => a + c.userSeconds, 0),
      systemSeconds: cpu.reduce((a, c) => a + c.systemSeconds, 0),
      shareOfCores: Math.max(...cpu.map((c) => c.shareOfCores)),
      cores: first.clientCpu.cores,
      seconds: cpu.reduce((a, c) => a + c.seconds, 0),
    },
    csv: first.csv
      ? { path: first.csv.path, rows: runs.reduce((a, r) => a + (r.csv?.rows ?? 0), 0) }
      : null,
    runs,
  };
}

/** Formats a byte count with an SI prefix, as iperf3 prints transfers: "1.18 GB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0
    ? `${bytes} B`
    : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

function seconds(value: number): string {
  return value.toFixed(2);
}

/** The aligned terminal summary. */
export function formatThroughputSummary(s: ThroughputSummary): string {
  const o = s.options;
  const many = o.streams > 1;
  const what = o.direction === "up"
    ? `up: writing to discard at ${s.services.up?.address}`
    : o.direction === "down"
    ? `down: reading from chargen at ${s.services.down?.address}`
    : o.direction === "both"
    ? `both: writing to echo at ${s.services.up?.address} and reading the echo back`
    : `up to discard at ${s.services.up?.address}, then down from chargen at ${s.services.down?.address}`;
  const lines = [
    `netspeed throughput ${s.target}, ${what}`,
    `${o.streams} stream${many ? "s" : ""} on ${o.workers} worker${o.workers === 1 ? "" : "s"}, ${
      formatCount(o.blockBytes)
    } B blocks, ${o.durationMs / 1000} s measured${
      o.omitMs > 0 ? ` after ${o.omitMs / 1000} s omitted` : ""
    }, ${o.intervalMs / 1000} s intervals`,
    "",
  ];

  const header = ["interval (s)"];
  for (const d of s.directions) {
    header.push(d, `${d} bytes`);
    if (many) header.push(`${d} min stream`, `${d} max stream`);
  }
  header.push("");
  const rows = s.intervals.map((i) => {
    const cells = [`${seconds(i.startSeconds)}-${seconds(i.endSeconds)}`];
    for (const d of s.directions) {
      const x = i[d];
      cells.push(x ? formatBitsPerSec(x.bitsPerSec) : "-", x ? formatBytes(x.bytes) : "-");
      if (many) {
        cells.push(
          x ? formatBitsPerSec(x.minStreamBitsPerSec) : "-",
          x ? formatBitsPerSec(x.maxStreamBitsPerSec) : "-",
        );
      }
    }
    cells.push(i.omitted ? "(omitted)" : "");
    return cells;
  });
  if (rows.length > 0) {
    lines.push(formatTable(header, rows, header.map((_, i) => (i === 0 ? "left" : "right"))));
    lines.push("");
  }

  if (many || s.directions.length > 1) {
    const streamRows = s.streams.map((x) => [
      String(x.stream),
      String(x.worker),
      x.direction,
      formatBytes(x.bytes),
      formatBitsPerSec(x.bitsPerSec),
      x.failure ? `failed: ${x.failure.kind}` : "",
    ]);
    lines.push(
      formatTable(
        ["stream", "worker", "direction", "bytes", "rate", ""],
        streamRows,
        ["right", "right", "left", "right", "right", "left"],
      ),
    );
    lines.push("");
  }

  for (const d of s.directions) {
    const total = s.totals[d]!;
    const spread = s.spread[d];
    let line = `Total ${d}: ${formatBitsPerSec(total.bitsPerSec)} (${formatBytes(total.bytes)} in ${
      seconds(s.measuredSeconds)
    } s)`;
    if (spread && spread.streams > 1) {
      line += `; per stream min ${
        formatBitsPerSec(spread.minBitsPerSec)
      } (stream ${spread.minStream}), max ${
        formatBitsPerSec(spread.maxBitsPerSec)
      } (stream ${spread.maxStream}), cv ${(spread.cv * 100).toFixed(1)}%`;
    }
    lines.push(line);
  }
  if (s.directions.length > 1) {
    lines.push(
      `Total both ways: ${formatBitsPerSec(s.totals.all.bitsPerSec)} (${
        formatBytes(s.totals.all.bytes)
      })`,
    );
  }
  lines.push(
    ...s.directions.map((d) => `Counted ${d}: ${s.counting[d]}.`),
  );
  for (const warning of s.warnings) lines.push(`Warning: ${warning}`);
  return lines.join("\n");
}
