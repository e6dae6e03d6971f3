/**
 * The summary of an open-loop run (TCP or UDP): the corrected percentiles
 * beside the uncorrected ones, the rate asked beside the rate kept, and,
 * over UDP, loss, duplicates, reordering and jitter. Pure: tallies in, data
 * and text out. The JSON has the closed-loop summary's shape plus the
 * open-loop fields, so readers of one read the other.
 *
 * @module
 */
import { encodeHistogram, type Histogram, type LatencyStats, latencyStats } from "../histogram.ts";
import { formatCount, formatTable, formatUs } from "../table.ts";
import { summarizeUdp } from "../udp/reception.ts";
import type { UdpSocketCounts } from "../worker_protocol.ts";
import { MIN_RATE_RATIO, rateFigures } from "./schedule.ts";
import {
  engineLine,
  kernelTimedLine,
  kernelTimedWarning,
  type LatencySummary,
  type LatencyTally,
  summarizeRoundTrips,
} from "./summary.ts";
import { ALL_STAT_COLUMNS, statCells } from "../summary_parts.ts";
import { formatClientFloor } from "./client_floor.ts";

/** What the open-loop runner counted, beyond what every latency run counts. */
export interface OpenLoopTally extends LatencyTally {
  /** Messages the schedule planned. */
  planned: number;
  /** Round trips timed from the actual send. */
  mergedUncorrected: Histogram;
  sent: number;
  unsent: number;
  /** When the last message left, ms after the common start; null when none did. */
  lastSendMs: number | null;
  /** UDP only: per-socket counts. */
  udp: UdpSocketCounts[] | null;
  /** How late each message left after its intended time; null when not measured (UDP). */
  mergedSendLateness?: Histogram | null;
}

/**
 * A p99 send lateness above this share of a connection's gap between
 * sends distorts the schedule enough to say so.
 */
export const MAX_SEND_LATENESS_SHARE = 0.1;

/** Builds the summary of an open-loop run. */
export function summarizeOpenLoop(t: OpenLoopTally): LatencySummary {
  const answered = t.merged.totalCount;
  const rate = {
    ...rateFigures(t.options.ratePerSec ?? 0, t.sent, t.lastSendMs ?? 0),
    answeredPerSec: t.measuredSeconds > 0 ? answered / t.measuredSeconds : 0,
  };
  const udp = t.udp ? summarizeUdp(t.udp) : undefined;
  const warnings: string[] = [];
  if (rate.ratio < MIN_RATE_RATIO && t.sent > 0) {
    warnings.push(
      `The client sent ${formatCount(rate.achievedPerSec)} messages/s of the ${
        formatCount(rate.askedPerSec)
      }/s asked (${
        (rate.ratio * 100).toFixed(1)
      }%): it could not keep the rate, so these figures describe a lighter load than asked`,
    );
  }
  if (t.unsent > 0 && !t.interrupted) {
    warnings.push(
      `${formatCount(t.unsent)} of ${
        formatCount(t.planned)
      } planned messages were never sent: their connection failed, or the client fell more than 10% behind the schedule`,
    );
  }
  const sendLateness = t.mergedSendLateness ? latencyStats(t.mergedSendLateness) : undefined;
  const gapUs = t.options.ratePerSec
    ? 1e6 * (t.options.workers * t.options.connections) / t.options.ratePerSec
    : Infinity;
  if (
    sendLateness && sendLateness.count > 0 && sendLateness.p99Us > MAX_SEND_LATENESS_SHARE * gapUs
  ) {
    warnings.push(
      `Messages left up to ${
        formatUs(sendLateness.p99Us)
      } µs after their intended time (p99), more than ${
        MAX_SEND_LATENESS_SHARE * 100
      }% of a connection's ${
        formatUs(gapUs)
      } µs between sends: the load was not as evenly spaced as asked`,
    );
  }
  if (udp && udp.mismatched > 0) {
    warnings.push(
      `${
        formatCount(udp.mismatched)
      } echoes differed from the datagram sent and were counted as lost`,
    );
  }
  const unstamped = udp?.kernelTimed === undefined
    ? undefined
    : kernelTimedWarning(udp.received - udp.kernelTimed, "echoes");
  if (unstamped) warnings.push(unstamped);
  if (udp && udp.late > 0) {
    warnings.push(
      `${
        formatCount(udp.late)
      } echoes came back after --timeout (${t.options.timeoutMs} ms) and were counted as lost`,
    );
  }
  return {
    ...summarizeRoundTrips(t, "open-loop", warnings),
    rate,
    messages: { sent: t.sent, unsent: t.unsent },
    rttUncorrected: latencyStats(t.mergedUncorrected),
    histogramUncorrected: encodeHistogram(t.mergedUncorrected),
    ...(udp ? { udp } : {}),
    ...(sendLateness ? { sendLateness } : {}),
  };
}

const TABLE_HEADER = ["", "done", "failed", ...ALL_STAT_COLUMNS];

function tableRow(name: string, done: number, failed: number, s: LatencyStats): string[] {
  return [name, formatCount(done), formatCount(failed), ...statCells(s)];
}

/** The aligned terminal summary of an open-loop run. */
export function formatOpenLoopSummary(s: LatencySummary): string {
  const o = s.options;
  const udp = o.transport === "udp";
  const bound = o.count !== undefined
    ? `${formatCount(o.count)} messages each`
    : `${(o.durationMs ?? 0) / 1000} s`;
  const rate = s.rate ?? rateFigures(o.ratePerSec ?? 0, 0, 0);
  const lines = [
    `netspeed latency ${s.target}: open loop${udp ? " over UDP" : ""} at ${
      formatCount(rate.askedPerSec)
    } messages/s, ${o.workers} worker${o.workers === 1 ? "" : "s"} x ${o.connections} ${
      udp ? "socket" : "connection"
    }${o.connections === 1 ? "" : "s"}, ${formatCount(o.sizeBytes)} B payload, ${bound}`,
    `Messages: planned ${formatCount(s.planned ?? 0)}, sent ${
      formatCount(s.messages?.sent ?? 0)
    }, answered ${formatCount(s.done)}, failed ${formatCount(s.failed)} in ${
      s.measuredSeconds.toFixed(2)
    } s`,
    `Rate: asked ${formatCount(rate.askedPerSec)}/s, achieved ${
      formatCount(rate.achievedPerSec)
    }/s (${(rate.ratio * 100).toFixed(2)}%)${
      s.rate ? `, answered ${formatCount(s.rate.answeredPerSec)}/s over the whole run` : ""
    }`,
  ];
  if (s.sendLateness && s.sendLateness.count > 0) {
    const l = s.sendLateness;
    lines.push(
      `Send times (the pacer's error): p50 ${formatUs(l.p50Us)} µs, p99 ${
        formatUs(l.p99Us)
      } µs, max ${formatUs(l.maxUs)} µs after the intended time`,
    );
  }
  if (s.udp) {
    const u = s.udp;
    lines.push(
      `UDP: sent ${formatCount(u.sent)}, echoed ${formatCount(u.received)}, lost ${
        formatCount(u.lost)
      } (${(u.lossRatio * 100).toFixed(2)}%), duplicates ${formatCount(u.duplicates)}, reordered ${
        formatCount(u.reordered)
      }, jitter ${formatUs(u.jitterUs)} µs (RFC 3550${
        u.sockets.length > 1
          ? `, mean of ${u.sockets.length} sockets, max ${formatUs(u.jitterMaxUs)}`
          : ""
      })`,
    );
  }
  const engine = engineLine(o);
  if (engine) lines.push(engine);
  if (s.udp?.kernelTimed !== undefined) {
    lines.push(kernelTimedLine(s.udp.kernelTimed, s.udp.received, "echoes"));
  }
  const failures = Object.entries(s.errors).filter(([, n]) => n > 0);
  if (failures.length > 0) {
    lines.push(
      `Failures by kind: ${failures.map(([k, n]) => `${k} ${formatCount(n)}`).join(", ")}`,
    );
  }
  lines.push("");
  const rows = [tableRow("corrected", s.done, s.failed, s.rtt)];
  if (s.rttUncorrected) rows.push(tableRow("uncorrected", s.done, s.failed, s.rttUncorrected));
  if (s.workers.length > 1) {
    for (const w of s.workers) rows.push(tableRow(`worker ${w.worker}`, w.done, w.failed, w.rtt));
  }
  lines.push(formatTable(TABLE_HEADER, rows));
  lines.push("");
  lines.push(
    "Round-trip times in microseconds (full round trip). Corrected: from the time each message was meant to leave, so a stall counts against every message it delayed; uncorrected: from the time it left. Worker rows are corrected. * marks a percentile with fewer than 10 samples beyond it.",
  );
  if (s.clientFloor) lines.push(formatClientFloor(s.clientFloor));
  for (const warning of s.warnings) lines.push(`Warning: ${warning}`);
  return lines.join("\n");
}
