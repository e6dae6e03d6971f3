/**
 * What the echoes of a UDP stream say about the path: loss, duplicates,
 * reordering and jitter, from sequence numbers and times alone. Pure, so
 * each figure is tested against streams whose answer is known.
 *
 * Definitions:
 * - lost: sent and never echoed back within the time limit (late echoes
 *   count as lost, and are counted apart as late);
 * - duplicate: an echo of a datagram already echoed;
 * - reordered: an echo whose sequence number is lower than that of an echo
 *   already received (RFC 4737's reordered packet, on the echo stream: a
 *   datagram overtaken by a later one, on either leg of the round trip);
 * - jitter: RFC 3550's interarrival jitter, J += (|D| − J) / 16, where D is
 *   the difference between the round-trip times of consecutive echoes in
 *   arrival order (the RFC's transit times, measured on one clock).
 *
 * @module
 */
import type { UdpSocketCounts } from "../worker_protocol.ts";

/** What one echo turned out to be. */
export type EchoVerdict = "echo" | "duplicate" | "late" | "unknown";

/** Tracks the echoes of one socket's stream of datagrams numbered 0 … capacity − 1. */
export class ReceptionTracker {
  readonly capacity: number;
  /** Per datagram: 0 not echoed, 1 echoed in time, 2 echoed late. */
  #state: Uint8Array;
  #received = 0;
  #duplicates = 0;
  #reordered = 0;
  #late = 0;
  #highest = -1;
  #jitterUs = 0;
  #lastTransitUs = NaN;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#state = new Uint8Array(capacity);
  }

  /**
   * Records the echo of datagram `seq`, sent at `sentUs` and back at
   * `receivedUs` (one clock). `late` marks an echo past the time limit.
   */
  onEcho(seq: number, sentUs: number, receivedUs: number, late = false): EchoVerdict {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.capacity) return "unknown";
    if (this.#state[seq] !== 0) {
      this.#duplicates++;
      return "duplicate";
    }
    if (late) {
      this.#state[seq] = 2;
      this.#late++;
      return "late";
    }
    this.#state[seq] = 1;
    this.#received++;
    if (seq < this.#highest) this.#reordered++;
    else this.#highest = seq;
    const transitUs = receivedUs - sentUs;
    if (!Number.isNaN(this.#lastTransitUs)) {
      const d = Math.abs(transitUs - this.#lastTransitUs);
      this.#jitterUs += (d - this.#jitterUs) / 16;
    }
    this.#lastTransitUs = transitUs;
    return "echo";
  }

  /** Whether datagram `seq` has been echoed within the time limit. */
  echoedInTime(seq: number): boolean {
    return seq >= 0 && seq < this.capacity && this.#state[seq] === 1;
  }

  /** The counts so far, for a socket that sent `sent` datagrams. */
  counts(connection: number, sent: number): UdpSocketCounts {
    return {
      connection,
      sent,
      received: this.#received,
      duplicates: this.#duplicates,
      reordered: this.#reordered,
      late: this.#late,
      mismatched: 0,
      jitterUs: this.#jitterUs,
    };
  }
}

/** Loss, duplicates, reordering and jitter over every socket of a run. */
export interface UdpSummary {
  sent: number;
  /** Distinct datagrams echoed in time. */
  received: number;
  /** sent − received (late echoes included). */
  lost: number;
  /** lost / sent; 0 when nothing was sent. */
  lossRatio: number;
  duplicates: number;
  reordered: number;
  /** Echoes that came after the time limit (already in `lost`). */
  late: number;
  /** Echoes whose bytes differ from what was sent (already in `lost`). */
  mismatched: number;
  /** RFC 3550 jitter, µs: the mean over sockets that echoed at least 2 datagrams. */
  jitterUs: number;
  /** The largest per-socket jitter, µs. */
  jitterMaxUs: number;
  /** With --kernel-timestamps: echoes timed by the kernel's receive timestamp (of `received`). */
  kernelTimed?: number;
  /** Per socket, for a closer look. */
  sockets: UdpSocketCounts[];
}

/**
 * Adds the per-socket counts up. Jitter is a per-stream figure, so it is
 * reported as the mean and the maximum over the sockets, said as such.
 */
export function summarizeUdp(sockets: UdpSocketCounts[]): UdpSummary {
  const sum = (
    key: "sent" | "received" | "duplicates" | "reordered" | "late" | "mismatched",
  ) => sockets.reduce((total, s) => total + s[key], 0);
  const sent = sum("sent");
  const received = sum("received");
  const jitters = sockets.filter((s) => s.received >= 2).map((s) => s.jitterUs);
  return {
    sent,
    received,
    lost: sent - received,
    lossRatio: sent > 0 ? (sent - received) / sent : 0,
    duplicates: sum("duplicates"),
    reordered: sum("reordered"),
    late: sum("late"),
    mismatched: sum("mismatched"),
    jitterUs: jitters.length > 0 ? jitters.reduce((a, b) => a + b, 0) / jitters.length : 0,
    jitterMaxUs: jitters.length > 0 ? Math.max(...jitters) : 0,
    ...(sockets.some((s) => s.kernelTimed !== undefined)
      ? { kernelTimed: sockets.reduce((total, s) => total + (s.kernelTimed ?? 0), 0) }
      : {}),
    sockets: [...sockets].sort((a, b) => a.connection - b.connection),
  };
}
