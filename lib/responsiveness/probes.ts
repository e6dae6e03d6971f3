/**
 * The latency probes of a responsiveness run, on a timer and whatever the
 * answers do:
 * - foreign: a new TCP connection to echo (its connect time is one sample,
 *   `foreign_connect`), one echo round trip on it (`foreign_echo`), close;
 * - self: one echo round trip on one of a few connections opened at the
 *   start and kept for the whole run (`self`), taking turns.
 *
 * Every probe becomes a sample, failed or not. A probe still waiting after
 * `timeoutMs` fails as a timeout, and a self connection that failed is not
 * used again.
 *
 * @module
 */
import {
  classifyError,
  connectTcp,
  MismatchError,
  readExactly,
  TimeoutError,
  writeAll,
} from "../net_io.ts";
import { sharedClockMs } from "../run_info.ts";
import type { ErrorKind } from "../worker_protocol.ts";
import { PROBE_BYTES } from "./options.ts";

/** Which time a sample is. */
export type ProbeKind = "self" | "foreign_connect" | "foreign_echo";

/** One probe time. */
export interface ProbeSample {
  kind: ProbeKind;
  /** Self: the connection's index; foreign: the probe's own connection, numbered like `seq`. */
  connection: number;
  /** Probe number within its kind (foreign connect and echo share theirs). */
  seq: number;
  /** When the timed step began, ms on the shared clock. */
  startEpochMs: number;
  /** µs; NaN when it failed. */
  rttUs: number;
  error: ErrorKind | "";
}

/** Where probes go and how often. */
export interface ProbeTarget {
  host: string;
  port: number;
  intervalMs: number;
  selfConnections: number;
  timeoutMs: number;
}

/** Foreign probes in flight at most: a path so slow that more pile up gets fewer probes. */
const MAX_FOREIGN_IN_FLIGHT = 64;

interface InFlight {
  startPerf: number;
  conn: Deno.TcpConn | undefined;
  timedOut: boolean;
}

interface SelfConnection {
  index: number;
  conn: Deno.TcpConn;
  busy: boolean;
  dead: boolean;
}

/** Sends the probes until stopped. */
export class Prober {
  #target: ProbeTarget;
  #onSample: (sample: ProbeSample) => void;
  #self: SelfConnection[];
  #inFlight = new Set<InFlight>();
  #tasks = new Set<Promise<void>>();
  #timer?: ReturnType<typeof setInterval>;
  #watchdog?: ReturnType<typeof setInterval>;
  #stopped = false;
  #foreignSeq = 0;
  #selfSeq = 0;
  #nextSelf = 0;
  #payload = crypto.getRandomValues(new Uint8Array(PROBE_BYTES));
  /** Probes not sent because the earlier ones had not finished. */
  skipped = { self: 0, foreign: 0 };

  private constructor(
    target: ProbeTarget,
    self: SelfConnection[],
    onSample: (s: ProbeSample) => void,
  ) {
    this.#target = target;
    this.#self = self;
    this.#onSample = onSample;
  }

  /** Opens the self connections; throws when none opens. */
  static async open(
    target: ProbeTarget,
    onSample: (sample: ProbeSample) => void,
  ): Promise<Prober> {
    const results = await Promise.allSettled(
      Array.from(
        { length: target.selfConnections },
        () => connectTcp(target.host, target.port, target.timeoutMs),
      ),
    );
    const self = results.flatMap((r, index) =>
      r.status === "fulfilled" ? [{ index, conn: r.value, busy: false, dead: false }] : []
    );
    if (self.length === 0) throw (results[0] as PromiseRejectedResult).reason;
    return new Prober(target, self, onSample);
  }

  /** Starts probing: a foreign and a self probe every `intervalMs`. */
  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      this.#track(this.#foreignProbe());
      this.#track(this.#selfProbe());
    };
    tick();
    this.#timer = setInterval(tick, this.#target.intervalMs);
    this.#watchdog = setInterval(() => this.#expire(), Math.max(5, this.#target.timeoutMs / 10));
  }

  /** Stops starting probes, abandons those in flight (neither success nor failure) and closes. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#watchdog);
    for (const probe of this.#inFlight) if (probe.conn) closeQuietly(probe.conn);
    for (const s of this.#self) closeQuietly(s.conn);
    await Promise.allSettled([...this.#tasks]);
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  #emit(sample: ProbeSample): void {
    if (!this.#stopped) this.#onSample(sample);
  }

  /** Fails probes past the time limit by closing their connection. */
  #expire(): void {
    const now = performance.now();
    for (const probe of this.#inFlight) {
      if (now - probe.startPerf > this.#target.timeoutMs && probe.conn && !probe.timedOut) {
        probe.timedOut = true;
        closeQuietly(probe.conn);
      }
    }
  }

  async #echo(conn: Deno.TcpConn, probe: InFlight): Promise<void> {
    const received = new Uint8Array(PROBE_BYTES);
    try {
      await writeAll(conn, this.#payload);
      await readExactly(conn, received);
    } catch (error) {
      if (probe.timedOut) throw new TimeoutError(`no echo within ${this.#target.timeoutMs} ms`);
      throw error;
    }
    for (let i = 0; i < PROBE_BYTES; i++) {
      if (received[i] !== this.#payload[i]) throw new MismatchError("echo differs from the probe");
    }
  }

  async #foreignProbe(): Promise<void> {
    if (this.#inFlight.size >= MAX_FOREIGN_IN_FLIGHT + this.#self.length) {
      this.skipped.foreign++;
      return;
    }
    const seq = this.#foreignSeq++;
    const connectStart = sharedClockMs();
    const t0 = performance.now();
    let conn: Deno.TcpConn;
    try {
      conn = await connectTcp(this.#target.host, this.#target.port, this.#target.timeoutMs);
    } catch (error) {
      this.#emit(failed("foreign_connect", seq, seq, connectStart, error));
      return;
    }
    const t1 = performance.now();
    this.#emit({
      kind: "foreign_connect",
      connection: seq,
      seq,
      startEpochMs: connectStart,
      rttUs: (t1 - t0) * 1000,
      error: "",
    });
    if (this.#stopped) return closeQuietly(conn);
    const echoStart = sharedClockMs();
    const probe: InFlight = { startPerf: performance.now(), conn, timedOut: false };
    this.#inFlight.add(probe);
    try {
      await this.#echo(conn, probe);
      this.#emit({
        kind: "foreign_echo",
        connection: seq,
        seq,
        startEpochMs: echoStart,
        rttUs: (performance.now() - probe.startPerf) * 1000,
        error: "",
      });
    } catch (error) {
      this.#emit(failed("foreign_echo", seq, seq, echoStart, error));
    } finally {
      this.#inFlight.delete(probe);
      closeQuietly(conn);
    }
  }

  async #selfProbe(): Promise<void> {
    // Take turns; skip connections still waiting on their previous probe.
    let chosen: SelfConnection | undefined;
    for (let i = 0; i < this.#self.length && !chosen; i++) {
      const s = this.#self[(this.#nextSelf + i) % this.#self.length];
      if (!s.busy && !s.dead) chosen = s;
    }
    this.#nextSelf = (this.#nextSelf + 1) % this.#self.length;
    if (!chosen) {
      if (this.#self.some((s) => !s.dead)) this.skipped.self++;
      return;
    }
    const s = chosen;
    const seq = this.#selfSeq++;
    s.busy = true;
    const startEpochMs = sharedClockMs();
    const probe: InFlight = { startPerf: performance.now(), conn: s.conn, timedOut: false };
    this.#inFlight.add(probe);
    try {
      await this.#echo(s.conn, probe);
      this.#emit({
        kind: "self",
        connection: s.index,
        seq,
        startEpochMs,
        rttUs: (performance.now() - probe.startPerf) * 1000,
        error: "",
      });
    } catch (error) {
      // Its stream can no longer be trusted: retire the connection.
      s.dead = true;
      closeQuietly(s.conn);
      this.#emit(failed("self", s.index, seq, startEpochMs, error));
    } finally {
      this.#inFlight.delete(probe);
      s.busy = false;
    }
  }
}

function failed(
  kind: ProbeKind,
  connection: number,
  seq: number,
  startEpochMs: number,
  error: unknown,
): ProbeSample {
  return { kind, connection, seq, startEpochMs, rttUs: NaN, error: classifyError(error) };
}

function closeQuietly(conn: Deno.TcpConn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
