/**
 * Synthetic CSV files in netspeed's formats for the report tests: what a
 * run would have written, with known structure (a stalled connection,
 * failures of known kinds, a known latency shift between two runs).
 *
 * @module
 */
import { seededRandom } from "../lib/report/reservoir.ts";
import {
  roundTripsPerMinute,
  rpmWindow,
  trimmedMean,
  weightedRoundTripMs,
} from "../lib/responsiveness/rpm.ts";

/** Shape of a synthetic latency run. */
export interface SyntheticLatency {
  workers: number;
  connections: number;
  perConnection: number;
  /** Median round trip, µs. */
  baseUs: number;
  seed?: number;
  /** This connection's round trips take 20× longer over a tenth of the run. */
  stalledConnection?: number;
  /** Every n-th attempt fails with a timeout (after 20 ms) or a reset. */
  failEvery?: number;
  /** Add open-loop columns after the standard ones. */
  openLoopColumns?: boolean;
}

/** A latency.csv as netspeed writes it, rows interleaved by connection in time order. */
export function syntheticLatencyCsv(o: SyntheticLatency): string {
  const random = seededRandom(o.seed ?? 7);
  const header = ["worker", "connection", "seq", "start_us", "rtt_us", "bytes", "error"];
  if (o.openLoopColumns) header.push("intended_us", "rtt_uncorrected_us");
  const total = o.workers * o.connections;
  const clock = new Array(total).fill(0).map(() => 1000 + random() * 100);
  const rows: string[] = [header.join(",")];
  let attempt = 0;
  for (let seq = 0; seq < o.perConnection; seq++) {
    for (let c = 0; c < total; c++) {
      const worker = Math.floor(c / o.connections);
      // Log-normal around the base: a long right tail, like real round trips.
      const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      let rtt = o.baseUs * Math.exp(0.25 * normal);
      const stalled = seq >= 0.4 * o.perConnection && seq < 0.5 * o.perConnection;
      if (c === o.stalledConnection && stalled) rtt *= 20;
      attempt++;
      const start = clock[c];
      const every = o.failEvery ?? 0;
      const fails = every > 0 && attempt % every === 0;
      const error = fails ? (attempt % (2 * every) === 0 ? "reset" : "timeout") : "";
      const cells = [
        worker,
        c,
        seq,
        start.toFixed(1),
        fails ? "" : rtt.toFixed(3),
        fails ? 0 : 64,
        error,
      ];
      if (o.openLoopColumns) cells.push(start.toFixed(1), fails ? "" : rtt.toFixed(3));
      rows.push(cells.join(","));
      clock[c] += (error === "timeout" ? 20_000 : rtt) + 5;
    }
  }
  return rows.join("\n") + "\n";
}

/** A throughput.csv: `streams` streams in each direction, 0.5 s intervals, the first one omitted. */
export function syntheticThroughputCsv(
  streams: number,
  intervals: number,
  bitsPerSec: number,
): string {
  const rows = [
    "stream,worker,direction,interval_start_s,interval_end_s,bytes,bits_per_sec,omitted",
  ];
  for (const direction of ["up", "down"]) {
    for (let s = 0; s < streams; s++) {
      for (let i = 0; i < intervals; i++) {
        // Stream 1 starves in the second half of the down run.
        const share = direction === "down" && s === 1 && i > intervals / 2 ? 0.1 : 1;
        const bps = bitsPerSec * share * (1 + 0.05 * Math.sin(i + s));
        const bytes = Math.round(bps * 0.5 / 8);
        rows.push(
          [
            s,
            s % 2,
            direction,
            (i * 0.5).toFixed(3),
            ((i + 1) * 0.5).toFixed(3),
            bytes,
            Math.round(bps),
            i === 0 ? 1 : 0,
          ]
            .join(","),
        );
      }
    }
  }
  return rows.join("\n") + "\n";
}

/** A connect.csv: `workers` workers, `count` attempts each, every 50th refused. */
export function syntheticConnectCsv(workers: number, count: number, baseUs: number): string {
  const random = seededRandom(11);
  const rows = ["worker,seq,start_us,connect_us,error"];
  const clock = new Array(workers).fill(500);
  for (let seq = 0; seq < count; seq++) {
    for (let w = 0; w < workers; w++) {
      const refused = (seq * workers + w) % 50 === 49;
      const us = baseUs * (0.8 + random() * 0.6) * (random() < 0.01 ? 20 : 1);
      rows.push(
        [w, seq, clock[w].toFixed(1), refused ? "" : us.toFixed(3), refused ? "refused" : ""].join(
          ",",
        ),
      );
      clock[w] += us + 20;
    }
  }
  return rows.join("\n") + "\n";
}

/** Shape of a synthetic responsiveness run. */
export interface SyntheticResponsiveness {
  /** Seconds of idle probing, then of load. */
  idleS: number;
  loadedS: number;
  /** Median self echo idle, µs; loaded it climbs to `loadedUs` over the first second of load. */
  idleUs: number;
  loadedUs: number;
  /** Every n-th loaded foreign connect times out (after 5 s); 0: none. */
  failEvery?: number;
  seed?: number;
}

/**
 * A responsiveness.csv and the JSON summary beside it, as `netspeed
 * responsiveness` writes them: a foreign and a self probe every 20 ms, the
 * load from `idleS` to `idleS + loadedS` with 250 ms throughput intervals,
 * and each phase's RPM computed from the rows the way the command does.
 */
export function syntheticResponsiveness(
  o: SyntheticResponsiveness,
): { csv: string; json: Record<string, unknown> } {
  const random = seededRandom(o.seed ?? 13);
  const lognormal = (median: number) =>
    median *
    Math.exp(0.3 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
  const loadStartUs = o.idleS * 1e6 + 1234.5;
  const loadEndUs = loadStartUs + o.loadedS * 1e6;
  const rows = ["phase,probe,connection,seq,start_us,rtt_us,error"];
  const samples: { phase: string; kind: string; startUs: number; rttUs: number }[] = [];
  const add = (kind: string, seq: number, connection: number, startUs: number, rttUs: number) => {
    // As the command does: no probe belongs to the run once the load has ended.
    if (startUs >= loadEndUs) return false;
    const phase = startUs >= loadStartUs ? "loaded" : "idle";
    const fails = o.failEvery && phase === "loaded" && kind === "foreign_connect" &&
      seq % o.failEvery === 0;
    rows.push(
      [
        phase,
        kind,
        connection,
        seq,
        startUs.toFixed(1),
        fails ? "" : rttUs.toFixed(3),
        fails ? "timeout" : "",
      ].join(","),
    );
    if (!fails) samples.push({ phase, kind, startUs, rttUs });
    return !fails;
  };
  const delayAt = (us: number) => {
    if (us < loadStartUs) return o.idleUs;
    const ramp = Math.min(1, (us - loadStartUs) / 1e6);
    return o.idleUs + ramp * (o.loadedUs - o.idleUs);
  };
  let seq = 0;
  for (let t = 2000; t < loadEndUs; t += 20_000, seq++) {
    const connectUs = lognormal(1.5 * delayAt(t));
    if (add("foreign_connect", seq, seq, t, connectUs)) {
      add("foreign_echo", seq, seq, t + connectUs + 20, lognormal(delayAt(t)));
    }
    add("self", seq, seq % 2, t + 300, lognormal(delayAt(t)));
  }
  const rpmOf = (phase: string, fromUs: number, toUs: number) => {
    const tm = (kind: string) =>
      trimmedMean(
        samples.filter((s) =>
          s.phase === phase && s.kind === kind && s.startUs >= fromUs && s.startUs < toUs
        ).map((s) => s.rttUs / 1000),
      );
    const means = {
      tcpForeignMs: tm("foreign_connect"),
      echoForeignMs: tm("foreign_echo"),
      echoSelfMs: tm("self"),
    };
    const rpm = roundTripsPerMinute(means);
    return { rpm, roundTripMs: weightedRoundTripMs(means), fromUs, toUs };
  };
  const window = rpmWindow(loadStartUs / 1000, loadEndUs / 1000);
  const intervals = Array.from({ length: Math.round(o.loadedS * 4) }, (_, i) => ({
    startS: i * 0.25,
    endS: (i + 1) * 0.25,
    upBitsPerSec: 90e6 * (i === 0 ? 0.3 : 1 + 0.05 * Math.sin(i)),
    downBitsPerSec: 95e6 * (i === 0 ? 0.5 : 1 + 0.05 * Math.cos(i)),
  }));
  const json = {
    command: "responsiveness",
    run: { runId: "synthetic", startedAt: "2026-01-01T00:00:00.000Z", version: "0.1.0" },
    target: "127.0.0.1",
    options: { idleMs: o.idleS * 1000, loadedMs: o.loadedS * 1000, streams: 4 },
    idle: { responsiveness: rpmOf("idle", 0, loadStartUs) },
    loaded: { responsiveness: rpmOf("loaded", window.fromMs * 1000, window.toMs * 1000) },
    load: {
      startUs: loadStartUs,
      endUs: loadEndUs,
      streamsPerDirection: 4,
      liveStreams: 8,
      failedStreams: 0,
      upBitsPerSec: 88e6,
      downBitsPerSec: 94e6,
      intervals,
    },
    warnings: [],
  };
  return { csv: rows.join("\n") + "\n", json };
}
