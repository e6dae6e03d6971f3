/**
 * The default engine: `Deno.connect` and async reads and writes, the
 * round trip's time limit kept by one watchdog per thread rather than a
 * timer per round trip, which would cost more than a loopback round trip
 * is long.
 *
 * @module
 */
import { connectTcp, PastDeadlineError, readExactly, TimeoutError, writeAll } from "../net_io.ts";
import type { SocketEngine, StreamConn } from "./socket_engine.ts";

/** Connections with a round trip in flight, watched for their time limit. */
const watched = new Set<DenoConn>();
let watchdogTimer: ReturnType<typeof setInterval> | undefined;
let watchdogPeriodMs = Infinity;

/**
 * Closes connections whose round trip has run past its limit, which makes
 * their pending read fail; checked ten times per limit, so a timeout fires
 * between 1 and 1.1 times the limit after the round trip began.
 */
function watch(conn: DenoConn, timeoutMs: number): void {
  watched.add(conn);
  const periodMs = Math.max(1, timeoutMs / 10);
  if (watchdogTimer !== undefined && periodMs >= watchdogPeriodMs) return;
  if (watchdogTimer !== undefined) clearInterval(watchdogTimer);
  watchdogPeriodMs = periodMs;
  watchdogTimer = setInterval(() => {
    const now = performance.now();
    for (const c of watched) {
      if (c.roundTripStartMs < 0) continue;
      if (now - c.roundTripStartMs > c.timeoutMs) {
        c.timedOut = true;
        c.close();
      } else if (now > c.deadlinePerf) {
        c.pastDeadline = true;
        c.close();
      }
    }
  }, periodMs);
}

function unwatch(conn: DenoConn): void {
  watched.delete(conn);
  if (watched.size === 0 && watchdogTimer !== undefined) {
    clearInterval(watchdogTimer);
    watchdogTimer = undefined;
    watchdogPeriodMs = Infinity;
  }
}

/** A connection of the default engine. */
export class DenoConn implements StreamConn {
  readonly conn: Deno.TcpConn;
  /** performance.now() at the start of the round trip in flight, or -1. */
  roundTripStartMs = -1;
  timeoutMs = Infinity;
  timedOut = false;
  /** End of the measured phase (performance.now()); a round trip waiting past it is dropped. */
  deadlinePerf = Infinity;
  pastDeadline = false;
  #closed = false;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  async roundTrip(
    payload: Uint8Array,
    received: Uint8Array,
    timeoutMs: number,
    deadlinePerf = Infinity,
    startPerf = performance.now(),
  ): Promise<void> {
    this.deadlinePerf = deadlinePerf;
    if (this.timeoutMs !== timeoutMs) {
      this.timeoutMs = timeoutMs;
      watch(this, timeoutMs);
    } else if (!watched.has(this)) watch(this, timeoutMs);
    this.roundTripStartMs = startPerf;
    try {
      await writeAll(this.conn, payload);
      await readExactly(this.conn, received);
    } catch (error) {
      if (this.timedOut) throw new TimeoutError(`no echo within ${timeoutMs} ms`);
      if (this.pastDeadline) throw new PastDeadlineError("the measured phase ended");
      throw error;
    } finally {
      this.roundTripStartMs = -1;
    }
  }

  close(): void {
    unwatch(this);
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

/** The default engine. */
export const DENO_ENGINE: SocketEngine = {
  name: "deno",
  blocking: false,
  async connect(host, port, timeoutMs) {
    return new DenoConn(await connectTcp(host, port, timeoutMs));
  },
};
