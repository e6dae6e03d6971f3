/**
 * How far this node's wall clock is from the server's, asked of `serve
 * --time-port` before measuring, NTP-style: the server's reply is taken
 * to have been read halfway through the round trip, so the offset is
 * known within half the round trip. The smallest of a few round trips
 * wins (the least queueing, the tightest bound).
 *
 * @module
 */
import { sharedClockMs } from "../run_info.ts";

/** What the clock check found, in the run result as `clock`. */
export interface ClockCheck {
  /** HOST:PORT of the time service asked. */
  reference: string;
  /** This node's clock minus the server's, ms (positive: this node is ahead). */
  offsetMs: number;
  /** The offset is known within ± this (half the round trip), ms. */
  uncertaintyMs: number;
  /** Round trips made; the one with the smallest round trip was kept. */
  samples: number;
}

/** One exchange: when the client asked and heard back (its clock) and what the server said. */
export interface ClockSample {
  sentEpochMs: number;
  receivedEpochMs: number;
  serverEpochMs: number;
}

/** Pure: the offset of the sample with the smallest round trip. */
export function clockOffset(
  reference: string,
  samples: readonly ClockSample[],
): ClockCheck | null {
  if (samples.length === 0) return null;
  const best = samples.reduce((a, b) =>
    b.receivedEpochMs - b.sentEpochMs < a.receivedEpochMs - a.sentEpochMs ? b : a
  );
  const roundTripMs = best.receivedEpochMs - best.sentEpochMs;
  return {
    reference,
    offsetMs: (best.sentEpochMs + best.receivedEpochMs) / 2 - best.serverEpochMs,
    uncertaintyMs: roundTripMs / 2,
    samples: samples.length,
  };
}

/** Exchanges made per check. */
const CLOCK_SAMPLES = 5;

/**
 * Asks the time service at `host:port` a few times; resolves with the
 * offset, or throws with a sentence naming the service when it cannot be
 * asked or answers nonsense.
 */
export async function checkClock(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<ClockCheck> {
  const reference = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const samples: ClockSample[] = [];
  const deadline = AbortSignal.timeout(timeoutMs);
  for (let i = 0; i < CLOCK_SAMPLES; i++) {
    const sentEpochMs = sharedClockMs();
    let text: string;
    try {
      const conn = await Deno.connect({ hostname: host, port, signal: deadline });
      text = await new Response(conn.readable).text();
    } catch (error) {
      throw new Error(`Cannot ask the time service "${reference}": ${(error as Error).message}`);
    }
    const receivedEpochMs = sharedClockMs();
    const serverEpochMs = Number(text.trim());
    if (!/^\d+(\.\d+)?\n?$/.test(text) || !Number.isFinite(serverEpochMs)) {
      throw new Error(
        `The time service "${reference}" answered ${JSON.stringify(text.slice(0, 40))}, not a time`,
      );
    }
    samples.push({ sentEpochMs, receivedEpochMs, serverEpochMs });
  }
  return clockOffset(reference, samples)!;
}

/** The outcome of the optional check of a run: the offset, or why there is none. */
export interface ClockOutcome {
  clock: ClockCheck | null;
  /** Why the check asked for could not be made. */
  warning?: string;
}

/**
 * Checks the clock against `serve --time-port` when the run asked for it
 * (`timePort` given); a failure does not stop the run, it becomes a
 * warning and the offset stays unknown.
 */
export async function clockCheckFor(
  host: string,
  timePort: number | undefined,
  timeoutMs: number,
): Promise<ClockOutcome> {
  if (timePort === undefined) return { clock: null };
  try {
    return { clock: await checkClock(host, timePort, timeoutMs) };
  } catch (error) {
    return {
      clock: null,
      warning: `${
        (error as Error).message
      }: this node's clock offset is unknown, so a merge cannot tell whether it is skewed`,
    };
  }
}

/** Puts the outcome of the check into a finished run's summary. */
export function attachClock(
  summary: { clock?: ClockCheck | null; warnings: string[] },
  outcome: ClockOutcome,
): void {
  summary.clock = outcome.clock;
  if (outcome.warning) summary.warnings.push(outcome.warning);
}
