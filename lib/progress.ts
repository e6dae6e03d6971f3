/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal,
 * so logs and pipes stay clean (as hyperfine and iperf3 do).
 *
 * @module
 */
import { formatClock, formatCount } from "./table.ts";

/** What a progress line shows; `planned` is unknown for open-ended runs. */
export interface ProgressState {
  done: number;
  planned?: number;
  /** Planned run time, for an ETA when the run is bounded by time. */
  plannedMs?: number;
  unit: string;
}

/** Renders the progress line for a state at `elapsedMs` (pure, for tests). */
export function renderProgress(state: ProgressState, elapsedMs: number, width = 30): string {
  const elapsedS = elapsedMs / 1000;
  const rate = elapsedS > 0 ? state.done / elapsedS : 0;
  let fraction: number | undefined;
  if (state.planned) fraction = state.done / state.planned;
  else if (state.plannedMs) fraction = elapsedMs / state.plannedMs;
  const parts: string[] = [];
  if (fraction !== undefined) {
    const clamped = Math.min(1, Math.max(0, fraction));
    const filled = Math.round(clamped * width);
    parts.push(
      `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${
        (clamped * 100).toFixed(0).padStart(3)
      }%`,
    );
  }
  parts.push(
    state.planned
      ? `${formatCount(state.done)}/${formatCount(state.planned)} ${state.unit}`
      : `${formatCount(state.done)} ${state.unit}`,
  );
  parts.push(`${formatCount(rate)}/s`);
  parts.push(`elapsed ${formatClock(elapsedS)}`);
  if (fraction !== undefined && fraction > 0 && fraction < 1) {
    parts.push(`ETA ${formatClock(elapsedS * (1 - fraction) / fraction)}`);
  }
  return parts.join("  ");
}

/** Redraws the progress line a few times a second until stopped. */
export class ProgressBar {
  #timer?: ReturnType<typeof setInterval>;
  #startMs = performance.now();
  #encoder = new TextEncoder();
  #read: () => ProgressState;

  /** `read` is called at each redraw to get the current state. */
  constructor(read: () => ProgressState) {
    this.#read = read;
  }

  /** Whether drawing makes sense here: only on an interactive stderr. */
  static wanted(): boolean {
    return Deno.stderr.isTerminal();
  }

  start(): this {
    this.#startMs = performance.now();
    this.#timer = setInterval(() => this.#draw(), 250);
    return this;
  }

  #draw(): void {
    const line = renderProgress(this.#read(), performance.now() - this.#startMs);
    Deno.stderr.writeSync(this.#encoder.encode(`\r\x1b[2K${line}`));
  }

  /** Stops drawing and clears the line so the summary starts clean. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    Deno.stderr.writeSync(this.#encoder.encode("\r\x1b[2K"));
  }
}
