/**
 * Aggregation of throughput.csv: one row per stream, direction and
 * interval. Rows are few (streams × intervals), so they are kept, then
 * summed per direction and interval, and merged into longer intervals when
 * a long run would draw more points than a chart can show.
 *
 * @module
 */
import type { CsvRow } from "./csv_stream.ts";

/** Column indexes of throughput.csv; optional ones may be absent. */
export interface ThroughputColumns {
  stream: number;
  worker?: number;
  direction: number;
  startS: number;
  endS: number;
  bytes: number;
  omitted?: number;
}

/** One stream in one direction over one (possibly merged) interval. */
export interface ThroughputPoint {
  stream: number;
  worker: number;
  direction: "up" | "down";
  startS: number;
  endS: number;
  bytes: number;
  bitsPerSec: number;
  /** Inside --omit: not counted in the totals. */
  omitted: boolean;
}

/** All streams of one direction over one interval. */
export interface ThroughputTotalPoint {
  direction: "up" | "down";
  startS: number;
  endS: number;
  bytes: number;
  bitsPerSec: number;
  omitted: boolean;
  streams: number;
}

/** Totals of one direction over the measured (not omitted) intervals. */
export interface DirectionTotals {
  direction: "up" | "down";
  streams: number;
  bytes: number;
  measuredSeconds: number;
  bitsPerSec: number;
  minStreamBitsPerSec: number;
  maxStreamBitsPerSec: number;
  minStream: number;
  maxStream: number;
  /** Measured stream-intervals that moved nothing: stalls. */
  emptyIntervals: number;
}

/** Everything a report shows of one throughput run; plain data. */
export interface ThroughputData {
  rows: number;
  /** Per stream; merged `mergedBy` intervals at a time when there were too many. */
  points: ThroughputPoint[];
  totals: ThroughputTotalPoint[];
  mergedBy: number;
  directions: DirectionTotals[];
}

/** Points per run the stream chart draws at most. @default {6000} */
export const MAX_THROUGHPUT_POINTS = 6000;

/** Collects rows; {@linkcode add} says why a row is unusable. */
export class ThroughputAggregator {
  readonly #columns: ThroughputColumns;
  readonly #rows: ThroughputPoint[] = [];

  /** Aggregates rows laid out as `columns`. */
  constructor(columns: ThroughputColumns) {
    this.#columns = columns;
  }

  /** Adds a row; returns null, or why the row was skipped. */
  add(row: CsvRow): string | null {
    const c = this.#columns;
    const stream = row.number(c.stream);
    if (!Number.isInteger(stream) || stream < 0) {
      return `stream "${row.text(c.stream)}" is not a stream number`;
    }
    const direction = row.text(c.direction).trim();
    if (direction !== "up" && direction !== "down") {
      return `direction "${direction}" is neither up nor down`;
    }
    const startS = row.number(c.startS);
    const endS = row.number(c.endS);
    if (!Number.isFinite(startS) || !Number.isFinite(endS) || endS < startS) {
      return `interval "${row.text(c.startS)}" to "${row.text(c.endS)}" is not an interval`;
    }
    const bytes = row.number(c.bytes);
    if (!(bytes >= 0)) return `bytes "${row.text(c.bytes)}" is not a byte count`;
    let omitted = false;
    if (c.omitted !== undefined && !row.isEmpty(c.omitted)) {
      const flag = row.number(c.omitted);
      if (flag !== 0 && flag !== 1) return `omitted "${row.text(c.omitted)}" is neither 0 nor 1`;
      omitted = flag === 1;
    }
    const worker = c.worker === undefined ? 0 : row.number(c.worker);
    this.#rows.push({
      stream,
      worker: Number.isInteger(worker) ? worker : 0,
      direction,
      startS,
      endS,
      bytes,
      bitsPerSec: rate(bytes, endS - startS),
      omitted,
    });
    return null;
  }

  /** The aggregate, at most `maxPoints` stream points. */
  finish(maxPoints = MAX_THROUGHPUT_POINTS): ThroughputData {
    const rows = this.#rows;
    const mergedBy = Math.max(1, Math.ceil(rows.length / maxPoints));
    const series = groupBy(rows, (r) => `${r.direction}/${r.stream}`);
    const points: ThroughputPoint[] = [];
    for (const list of series.values()) {
      list.sort((a, b) => a.startS - b.startS);
      points.push(...mergeIntervals(list, mergedBy));
    }

    const totals: ThroughputTotalPoint[] = [];
    const byInterval = groupBy(rows, (r) => `${r.direction}/${r.omitted}/${r.startS.toFixed(3)}`);
    const totalsRaw: ThroughputPoint[] = [];
    for (const list of byInterval.values()) {
      const bytes = list.reduce((a, r) => a + r.bytes, 0);
      const startS = list[0].startS;
      const endS = Math.max(...list.map((r) => r.endS));
      totalsRaw.push({
        ...list[0],
        stream: list.length,
        bytes,
        endS,
        bitsPerSec: rate(bytes, endS - startS),
      });
    }
    for (const list of groupBy(totalsRaw, (r) => r.direction).values()) {
      list.sort((a, b) => a.startS - b.startS);
      const merged = mergeIntervals(list, Math.max(1, Math.ceil(list.length / (maxPoints / 4))));
      for (const p of merged) {
        totals.push({
          direction: p.direction,
          startS: p.startS,
          endS: p.endS,
          bytes: p.bytes,
          bitsPerSec: p.bitsPerSec,
          omitted: p.omitted,
          streams: p.stream,
        });
      }
    }

    const directions: DirectionTotals[] = [];
    for (const direction of ["up", "down"] as const) {
      const measured = rows.filter((r) => r.direction === direction && !r.omitted);
      if (measured.length === 0) continue;
      const startS = Math.min(...measured.map((r) => r.startS));
      const endS = Math.max(...measured.map((r) => r.endS));
      const seconds = endS - startS;
      const perStream = new Map<number, number>();
      for (const r of measured) perStream.set(r.stream, (perStream.get(r.stream) ?? 0) + r.bytes);
      const streamRates = [...perStream].map(([stream, bytes]) => ({
        stream,
        bps: rate(bytes, seconds),
      }));
      streamRates.sort((a, b) => a.bps - b.bps);
      const bytes = measured.reduce((a, r) => a + r.bytes, 0);
      directions.push({
        direction,
        streams: perStream.size,
        bytes,
        measuredSeconds: seconds,
        bitsPerSec: rate(bytes, seconds),
        minStreamBitsPerSec: streamRates[0].bps,
        maxStreamBitsPerSec: streamRates[streamRates.length - 1].bps,
        minStream: streamRates[0].stream,
        maxStream: streamRates[streamRates.length - 1].stream,
        emptyIntervals: measured.filter((r) => r.bytes === 0).length,
      });
    }
    return { rows: rows.length, points, totals, mergedBy, directions };
  }
}

/**
 * A time snapped to a tenth of an interval's length, so that the
 * intervals of nodes started together (a few ms apart by `--start-at`)
 * add up in the same interval of the aggregate. Shown times move by at
 * most a twentieth of an interval; bytes are untouched.
 */
export function snapToInterval(seconds: number, lengthSeconds: number): number {
  if (!Number.isFinite(seconds) || !(lengthSeconds > 0)) return seconds;
  const step = lengthSeconds / 10;
  return Math.round(seconds / step) * step;
}

/** Bits per second of `bytes` in `seconds`; 0 for an empty span. */
function rate(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes * 8 / seconds : 0;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Merges runs of `by` consecutive intervals, never an omitted one with a measured one. */
function mergeIntervals(sorted: ThroughputPoint[], by: number): ThroughputPoint[] {
  if (by <= 1) return sorted;
  const out: ThroughputPoint[] = [];
  let current: ThroughputPoint | undefined;
  let merged = 0;
  for (const p of sorted) {
    if (current && merged < by && current.omitted === p.omitted) {
      current.bytes += p.bytes;
      current.endS = Math.max(current.endS, p.endS);
      current.bitsPerSec = rate(current.bytes, current.endS - current.startS);
      merged++;
    } else {
      current = { ...p };
      out.push(current);
      merged = 1;
    }
  }
  return out;
}
