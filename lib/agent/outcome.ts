/**
 * What one probe produced, and the agent's own running count of it: every
 * probe ends as a round trip or as a failure of a named kind, so
 * `probes = successes + failures` holds for every pair and probe kind.
 * The tally is what the agent prints when it stops, and what the tests
 * compare Prometheus's counters with.
 *
 * @module
 */
import type { ErrorKind } from "../worker_protocol.ts";
import * as hdr from "hdr-histogram-js";
import { HIGHEST_NS, type Histogram, recordUs } from "../histogram.ts";

/** The probe kinds, in the order they are reported. */
export const PROBE_KINDS = ["tcp", "connect", "udp"] as const;

/** `tcp` (echo on a kept connection), `connect` (set-up time of a fresh one) or `udp` (echo datagram). */
export type ProbeKind = typeof PROBE_KINDS[number];

/** Why a probe gave no round trip: a socket error kind, or `lost` for an unanswered datagram. */
export type FailureKind = ErrorKind | "lost";

/** The end of one probe. */
export type ProbeOutcome =
  | { target: string; probe: ProbeKind; rttUs: number; failure?: undefined }
  | { target: string; probe: ProbeKind; failure: FailureKind; rttUs?: undefined };

/** Extra events of the UDP stream that do not end a probe. */
export type UdpEvent = "duplicate" | "reordered" | "late";

/** Where outcomes go: the tally, the metrics, the hlogs. */
export interface OutcomeSink {
  record(outcome: ProbeOutcome): void;
  recordUdpEvent(target: string, event: UdpEvent): void;
}

/** Counts of one target and probe kind. */
export interface PairTally {
  target: string;
  probe: ProbeKind;
  probes: number;
  failures: Partial<Record<FailureKind, number>>;
  /** Every round trip, ns (the HDR histogram of the whole run). */
  histogram: Histogram;
  udp: Record<UdpEvent, number>;
}

/** The agent's own count of every outcome, by target and probe kind. */
export class AgentTally implements OutcomeSink {
  readonly pairs = new Map<string, PairTally>();

  #pair(target: string, probe: ProbeKind): PairTally {
    const key = `${target}\u0000${probe}`;
    let pair = this.pairs.get(key);
    if (!pair) {
      pair = {
        target,
        probe,
        probes: 0,
        failures: {},
        histogram: packedHistogram(),
        udp: { duplicate: 0, reordered: 0, late: 0 },
      };
      this.pairs.set(key, pair);
    }
    return pair;
  }

  record(outcome: ProbeOutcome): void {
    const pair = this.#pair(outcome.target, outcome.probe);
    pair.probes++;
    if (outcome.failure !== undefined) {
      pair.failures[outcome.failure] = (pair.failures[outcome.failure] ?? 0) + 1;
    } else {
      recordUs(pair.histogram, outcome.rttUs);
    }
  }

  recordUdpEvent(target: string, event: UdpEvent): void {
    this.#pair(target, "udp").udp[event]++;
  }

  /** Pairs sorted by target, then probe kind. */
  sorted(): PairTally[] {
    return [...this.pairs.values()].sort((a, b) =>
      a.target < b.target
        ? -1
        : a.target > b.target
        ? 1
        : PROBE_KINDS.indexOf(a.probe) - PROBE_KINDS.indexOf(b.probe)
    );
  }
}

/**
 * netspeed's usual histogram (1 ns to 1 h, 3 significant digits), packed:
 * the full array of counts is 270 KB, which 150 pairs would turn into
 * 40 MB; packed, a pair costs what its round trips occupy.
 */
function packedHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_NS,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: "packed",
    useWebAssembly: false,
  });
}

/** Sends every outcome to each sink in turn. */
export function fanOut(sinks: OutcomeSink[]): OutcomeSink {
  return {
    record: (outcome) => sinks.forEach((sink) => sink.record(outcome)),
    recordUdpEvent: (target, event) => sinks.forEach((sink) => sink.recordUdpEvent(target, event)),
  };
}
