/**
 * The summary and CSV rows of `netspeed throughput --udp`: the bitrate
 * asked beside the bitrate sent and echoed, per interval and in all, with
 * loss, duplicates, reordering, jitter and the round trips of the echoes.
 * Pure: counts in, data and text out.
 *
 * @module
 */
import { resultOfTally, type RunResult, type TallyTiming } from "../results/run_result.ts";
import { INTERRUPTED_WARNING } from "../summary_parts.ts";
import type { CsvCell } from "../csv_writer.ts";
import { encodeHistogram, type Histogram, type LatencyStats, latencyStats } from "../histogram.ts";
import { MIN_RATE_RATIO, rateFigures } from "../latency/schedule.ts";
import type { RunInfo } from "../run_info.ts";
import { formatBitsPerSec, formatCount, formatTable, formatUs } from "../table.ts";
import { formatHostPort } from "../units.ts";
import type { UdpSocketCounts } from "../worker_protocol.ts";
import { summarizeUdp, type UdpSummary } from "./reception.ts";
import { datagramsPerSec, type UdpThroughputOptions } from "./throughput_options.ts";

/** Datagrams and bytes of one interval: sent by send time, echoed by arrival time. */
export interface UdpInterval {
  index: number;
  startMs: number;
  endMs: number;
  sentDatagrams: number;
  sentBytes: number;
  echoedDatagrams: number;
  echoedBytes: number;
}

/**
 * Columns of the UDP throughput CSV, one row per interval:
 * `interval_start_s`, `interval_end_s` (since the common start), then
 * datagrams, bytes and bits per second sent in the interval and echoed in
 * it (echoes by arrival time; those after the end land in the last row).
 */
export const UDP_THROUGHPUT_CSV_HEADER = [
  "interval_start_s",
  "interval_end_s",
  "sent_datagrams",
  "sent_bytes",
  "sent_bits_per_sec",
  "echoed_datagrams",
  "echoed_bytes",
  "echoed_bits_per_sec",
] as const;

function bitsPerSec(bytes: number, ms: number): number {
  return ms > 0 ? bytes * 8000 / ms : 0;
}

/** The CSV row of one interval. */
export function udpIntervalRow(i: UdpInterval): CsvCell[] {
  const ms = i.endMs - i.startMs;
  return [
    (i.startMs / 1000).toFixed(3),
    (i.endMs / 1000).toFixed(3),
    i.sentDatagrams,
    i.sentBytes,
    bitsPerSec(i.sentBytes, ms).toFixed(0),
    i.echoedDatagrams,
    i.echoedBytes,
    bitsPerSec(i.echoedBytes, ms).toFixed(0),
  ];
}

/** The JSON summary of `netspeed throughput --udp`. */
export interface UdpThroughputSummary
  extends
    RunResult<"throughput", Omit<UdpThroughputOptions, "host" | "port"> & { target: string }> {
  transport: "udp";
  target: string;
  bitrate: {
    askedBitsPerSec: number;
    /** Payload bits sent per second of the time it took to send them. */
    sentBitsPerSec: number;
    /** Payload bits echoed back per second, over the same time. */
    echoedBitsPerSec: number;
    /** sent / asked. */
    ratio: number;
  };
  udp: UdpSummary;
  /** Round trips of the echoes, µs (from the actual send). */
  rtt: LatencyStats;
  /** HDR histogram of the round trips (ns), compressed base64. */
  histogram: string;
  intervals: (UdpInterval & { sentBitsPerSec: number; echoedBitsPerSec: number })[];
  clientCpu: { userSeconds: number; systemSeconds: number; cores: number };
  csv: { path: string; rows: number } | null;
}

/** What the UDP throughput run counted. */
export interface UdpThroughputTally extends TallyTiming {
  options: UdpThroughputOptions;
  run: RunInfo;
  interrupted: boolean;
  sent: number;
  /** When the last datagram left, ms after the common start; null when none did. */
  lastSendMs: number | null;
  sockets: UdpSocketCounts[];
  echoedBytes: number;
  rtt: Histogram;
  intervals: UdpInterval[];
  cpu: { userSeconds: number; systemSeconds: number; cores: number };
  csv: { path: string; rows: number } | null;
}

/** The rate above which `serve --udp`'s default limit would drop datagrams. */
export const SERVE_UDP_DEFAULT_LIMIT_PER_SEC = 20_000;

/** Builds the summary. */
export function summarizeUdpThroughput(t: UdpThroughputTally): UdpThroughputSummary {
  const o = t.options;
  const perSec = datagramsPerSec(o);
  const rate = rateFigures(perSec, t.sent, t.lastSendMs ?? 0);
  const spanSec = rate.achievedPerSec > 0 ? t.sent / rate.achievedPerSec : 0;
  const udp = summarizeUdp(t.sockets);
  const warnings: string[] = [];
  if (rate.ratio < MIN_RATE_RATIO && t.sent > 0) {
    warnings.push(
      `The client sent ${formatBitsPerSec(rate.achievedPerSec * o.lengthBytes * 8)} of the ${
        formatBitsPerSec(o.bitsPerSec)
      } asked (${(rate.ratio * 100).toFixed(1)}%): it could not keep the bitrate`,
    );
  }
  if (perSec > SERVE_UDP_DEFAULT_LIMIT_PER_SEC && udp.lost > 0) {
    warnings.push(
      `${formatCount(perSec)} datagrams/s is above the ${
        formatCount(SERVE_UDP_DEFAULT_LIMIT_PER_SEC)
      }/s that netspeed serve --udp answers by default: against it, loss may be its --udp-rate-limit, not the path`,
    );
  }
  if (udp.late > 0) {
    warnings.push(
      `${
        formatCount(udp.late)
      } echoes came back after --timeout (${o.timeoutMs} ms) and were counted as lost`,
    );
  }
  if (t.interrupted) {
    warnings.push(INTERRUPTED_WARNING);
  }
  const { host, port, ...rest } = o;
  const histogram = encodeHistogram(t.rtt);
  return {
    ...resultOfTally(t, {
      kind: "throughput",
      mode: "udp",
      options: { ...rest, target: formatHostPort({ host, port }) },
      measuredSeconds: spanSec,
      ok: udp.received,
      errors: { lost: udp.lost },
      histograms: { rtt: histogram },
      warnings,
    }),
    transport: "udp",
    target: formatHostPort({ host, port }),
    bitrate: {
      askedBitsPerSec: o.bitsPerSec,
      sentBitsPerSec: spanSec > 0 ? t.sent * o.lengthBytes * 8 / spanSec : 0,
      echoedBitsPerSec: spanSec > 0 ? t.echoedBytes * 8 / spanSec : 0,
      ratio: rate.ratio,
    },
    udp,
    rtt: latencyStats(t.rtt),
    histogram,
    intervals: t.intervals.map((i) => ({
      ...i,
      sentBitsPerSec: bitsPerSec(i.sentBytes, i.endMs - i.startMs),
      echoedBitsPerSec: bitsPerSec(i.echoedBytes, i.endMs - i.startMs),
    })),
    clientCpu: t.cpu,
    csv: t.csv,
  };
}

/** The terminal summary, iperf3-like: a row per interval, then the totals. */
export function formatUdpThroughputSummary(s: UdpThroughputSummary): string {
  const o = s.options;
  const u = s.udp;
  const lines = [
    `netspeed throughput --udp ${s.target}: ${formatBitsPerSec(o.bitsPerSec)} in ${
      formatCount(o.lengthBytes)
    }-byte datagrams over ${o.sockets} socket${o.sockets === 1 ? "" : "s"}, ${
      o.durationMs / 1000
    } s, to the UDP echo and back`,
    "",
    formatTable(
      ["interval", "sent", "sent bitrate", "echoed", "echoed bitrate"],
      s.intervals.map((i) => [
        `${(i.startMs / 1000).toFixed(2)}-${(i.endMs / 1000).toFixed(2)} s`,
        formatCount(i.sentDatagrams),
        formatBitsPerSec(i.sentBitsPerSec),
        formatCount(i.echoedDatagrams),
        formatBitsPerSec(i.echoedBitsPerSec),
      ]),
    ),
    "",
    `Bitrate: asked ${formatBitsPerSec(s.bitrate.askedBitsPerSec)}, sent ${
      formatBitsPerSec(s.bitrate.sentBitsPerSec)
    } (${(s.bitrate.ratio * 100).toFixed(2)}%), echoed ${
      formatBitsPerSec(s.bitrate.echoedBitsPerSec)
    }`,
    `Datagrams: sent ${formatCount(u.sent)}, echoed ${formatCount(u.received)}, lost ${
      formatCount(u.lost)
    } (${(u.lossRatio * 100).toFixed(2)}%), duplicates ${formatCount(u.duplicates)}, reordered ${
      formatCount(u.reordered)
    }, jitter ${formatUs(u.jitterUs)} µs (RFC 3550)`,
    s.rtt.count > 0
      ? `Round trips of the echoes: p50 ${formatUs(s.rtt.p50Us)} µs, p99 ${
        formatUs(s.rtt.p99Us)
      } µs, max ${formatUs(s.rtt.maxUs)} µs`
      : "Round trips of the echoes: none came back",
  ];
  for (const warning of s.warnings) lines.push(`Warning: ${warning}`);
  return lines.join("\n");
}
