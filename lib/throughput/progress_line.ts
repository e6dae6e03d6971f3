/**
 * The throughput progress line on stderr: how far the run is, and the
 * rate of the latest finished interval per direction, the way iperf3's
 * interval lines read. Drawn only when stderr is a terminal.
 *
 * @module
 */
import { formatBitsPerSec, formatClock } from "../table.ts";
import type { TransferDirection } from "../worker_protocol.ts";

/** What the progress line shows. */
export interface ThroughputProgressState {
  elapsedMs: number;
  plannedMs: number;
  /** Latest finished interval: its end (s) and rate per direction; null before the first. */
  latest: { endSeconds: number; bitsPerSec: Partial<Record<TransferDirection, number>> } | null;
  omitting: boolean;
}

/** Renders the progress line (pure, for tests). */
export function renderThroughputProgress(state: ThroughputProgressState, width = 30): string {
  const fraction = Math.min(1, Math.max(0, state.elapsedMs / state.plannedMs));
  const filled = Math.round(fraction * width);
  const parts = [
    `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${
      (fraction * 100).toFixed(0).padStart(3)
    }%`,
  ];
  if (state.latest) {
    const rates = Object.entries(state.latest.bitsPerSec)
      .map(([direction, bps]) => `${direction} ${formatBitsPerSec(bps)}`)
      .join(", ");
    parts.push(`at ${state.latest.endSeconds.toFixed(1)} s: ${rates}`);
  }
  if (state.omitting) parts.push("(omitting)");
  parts.push(`elapsed ${formatClock(state.elapsedMs / 1000)}`);
  return parts.join("  ");
}

/** Redraws the line a few times a second until stopped. */
export class ThroughputProgress {
  #timer?: ReturnType<typeof setInterval>;
  #encoder = new TextEncoder();
  #read: () => ThroughputProgressState;

  /** `read` is called at each redraw. */
  constructor(read: () => ThroughputProgressState) {
    this.#read = read;
  }

  /** Starts drawing. */
  start(): this {
    this.#timer = setInterval(() => {
      const line = renderThroughputProgress(this.#read());
      Deno.stderr.writeSync(this.#encoder.encode(`\r\x1b[2K${line}`));
    }, 250);
    return this;
  }

  /** Stops drawing and clears the line so the summary starts clean. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    Deno.stderr.writeSync(this.#encoder.encode("\r\x1b[2K"));
  }
}
