/**
 * What the echoes of one peer's endless stream of numbered UDP probes say:
 * each datagram is answered in time, answered late, duplicated, or lost,
 * and an echo overtaken by a later one is counted as reordered (as in
 * `lib/udp/reception.ts`, but for a stream with no end: only the datagrams
 * still awaited and a window of recent ones are remembered, so memory
 * stays flat). Pure: times are given, not read.
 *
 * @module
 */

/** What one arriving echo turned out to be. */
export type UdpEchoVerdict = "echo" | "duplicate" | "late" | "unknown";

/** Counts since start. */
export interface UdpSequenceCounts {
  sent: number;
  /** Echoed within the time limit. */
  received: number;
  /** Not echoed within the time limit (late echoes are among them). */
  lost: number;
  /** Echoes of a datagram already echoed. */
  duplicates: number;
  /** Echoes older than one already received. */
  reordered: number;
  /** Echoes that came after the time limit (already counted lost). */
  late: number;
}

/** Recently settled sequence numbers remembered, to tell late and duplicate echoes from strays. */
const SETTLED_WINDOW = 4096;

/** Tracks one peer's UDP probe stream. */
export class UdpSequence {
  readonly counts: UdpSequenceCounts = {
    sent: 0,
    received: 0,
    lost: 0,
    duplicates: 0,
    reordered: 0,
    late: 0,
  };
  #nextSeq = 0;
  /** Datagrams awaited: sequence number → send time, ms. Insertion order is send order. */
  #pending = new Map<number, number>();
  /** Settled recently: sequence number → true if echoed, false if declared lost. */
  #settled = new Map<number, boolean>();
  #highestEchoed = -1;

  /** Numbers the next datagram, sent at `nowMs`. */
  send(nowMs: number): number {
    const seq = this.#nextSeq;
    this.#nextSeq = (this.#nextSeq + 1) >>> 0;
    this.#pending.set(seq, nowMs);
    this.counts.sent++;
    return seq;
  }

  /** Records the echo of `seq` arriving at `nowMs`; returns the RTT in ms for an in-time echo. */
  onEcho(seq: number, nowMs: number): { verdict: UdpEchoVerdict; rttMs?: number } {
    const sentMs = this.#pending.get(seq);
    if (sentMs !== undefined) {
      this.#pending.delete(seq);
      this.#settle(seq, true);
      this.counts.received++;
      if (seq < this.#highestEchoed) this.counts.reordered++;
      else this.#highestEchoed = seq;
      return { verdict: "echo", rttMs: nowMs - sentMs };
    }
    const settled = this.#settled.get(seq);
    if (settled === undefined) return { verdict: "unknown" };
    if (settled) {
      this.counts.duplicates++;
      return { verdict: "duplicate" };
    }
    this.#settled.set(seq, true);
    this.counts.late++;
    return { verdict: "late" };
  }

  /** Declares lost every datagram sent more than `timeoutMs` before `nowMs`; returns how many. */
  expire(nowMs: number, timeoutMs: number): number {
    let lost = 0;
    for (const [seq, sentMs] of this.#pending) {
      if (nowMs - sentMs < timeoutMs) break;
      this.#pending.delete(seq);
      this.#settle(seq, false);
      lost++;
    }
    this.counts.lost += lost;
    return lost;
  }

  /** Datagrams still awaited. */
  get pending(): number {
    return this.#pending.size;
  }

  #settle(seq: number, echoed: boolean): void {
    this.#settled.set(seq, echoed);
    if (this.#settled.size > SETTLED_WINDOW) {
      const oldest = this.#settled.keys().next().value as number;
      this.#settled.delete(oldest);
    }
  }
}
