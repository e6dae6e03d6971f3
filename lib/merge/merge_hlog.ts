/**
 * The merged HdrHistogram interval log of `netspeed merge`: every node's
 * intervals, tagged by node, and untagged the sum over nodes of each
 * wall-clock interval, so that HdrHistogram's own tools read the fleet's
 * aggregate by default and one node with `-tag`. Pure; the logs are read
 * and written by `lib/hlog`.
 *
 * @module
 */
import { createHistogram } from "../histogram.ts";
import {
  hlogHeaderLines,
  type HlogInterval,
  hlogIntervalLine,
  type HlogLog,
  hlogTag,
} from "../hlog/mod.ts";

/** One node's log and the id it goes by after the merge. */
export interface HlogPart {
  nodeId: string;
  log: HlogLog;
}

/** The series of a tag without its node: `node-a/latency` → `latency`; untagged → `kind`. */
function seriesOf(tag: string | null, kind: string): string {
  if (tag === null) return kind;
  const slash = tag.indexOf("/");
  return slash === -1 ? kind : tag.slice(slash + 1);
}

/**
 * The intervals of the merged log: the sum over nodes per series and
 * interval start (untagged for the run's own kind, `all/<series>` for
 * others), then every node's intervals tagged `<node>/<series>`, in time
 * order.
 */
export function mergeHlogIntervals(parts: readonly HlogPart[], kind: string): HlogInterval[] {
  const sums = new Map<string, HlogInterval>();
  const nodes: HlogInterval[] = [];
  for (const { nodeId, log } of parts) {
    for (const interval of log.intervals) {
      const series = seriesOf(interval.tag, kind);
      nodes.push({ ...interval, tag: hlogTag(nodeId, series) });
      const key = `${series}\n${interval.startEpochMs}`;
      let sum = sums.get(key);
      if (!sum) {
        sum = {
          tag: series === kind ? null : hlogTag("all", series),
          startEpochMs: interval.startEpochMs,
          endEpochMs: interval.endEpochMs,
          histogram: createHistogram(),
        };
        sums.set(key, sum);
      }
      sum.endEpochMs = Math.max(sum.endEpochMs, interval.endEpochMs);
      sum.histogram.add(interval.histogram);
    }
  }
  const byTime = (a: HlogInterval, b: HlogInterval) => a.startEpochMs - b.startEpochMs;
  return [...[...sums.values()].sort(byTime), ...nodes.sort(byTime)];
}

/** The text of the merged log. */
export function mergedHlogText(parts: readonly HlogPart[], kind: string): string {
  const intervals = mergeHlogIntervals(parts, kind);
  const startEpochMs = Math.min(
    ...parts.map((p) => p.log.startEpochMs ?? Infinity),
    ...intervals.map((i) => i.startEpochMs),
  );
  const base = Number.isFinite(startEpochMs) ? startEpochMs : 0;
  const lines = [
    ...hlogHeaderLines({
      startEpochMs: base,
      comments: [
        `netspeed merge of ${parts.length} nodes (${
          parts.map((p) => p.nodeId).join(", ")
        }): untagged intervals are the sum over nodes, Tag=<node>/<series> each node's; values in nanoseconds, Interval_Max in microseconds`,
      ],
    }),
    ...intervals.map((i) => hlogIntervalLine(i, base)),
  ];
  return lines.join("\n") + "\n";
}
