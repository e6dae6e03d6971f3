/**
 * The connect Worker: opens one TCP connection at a time (and runs the
 * TLS handshake with `--tls`), times connect() until established, closes
 * it and opens the next, recording every attempt into transferable
 * batches and successful set-up times into an HDR histogram the main
 * thread merges.
 *
 * Started by `lib/commands/connect.ts` from its module URL, so
 * `deno compile --include lib/connect/worker.ts` can embed it.
 *
 * @module
 */
import { waitUntil } from "../pacer.ts";
import { perfOfSharedMs, sharedMsOfPerf } from "../run_info.ts";
/// <reference lib="deno.worker" />
import { createHistogram, encodeHistogram, recordUs } from "../histogram.ts";
import { classifyError, TimeoutError } from "../net_io.ts";
import { openAndCloseFfi } from "../engine/ffi_socket.ts";
import { libc } from "../engine/libc.ts";
import { nowPerf } from "../engine/monotonic_clock.ts";
import {
  type ConnectJob,
  errorCode,
  type FromConnectWorker,
  type ToConnectWorker,
} from "../worker_protocol.ts";
import { answerLifecycle } from "../worker_lifecycle.ts";
import { batchSender } from "../column_buffer.ts";

type GoMessage = Extract<ToConnectWorker, { type: "go" }>;
import { GIVE_UP_AFTER_SUCCESS, GIVE_UP_BEFORE_SUCCESS } from "./options.ts";
import { AttemptBuffer } from "./attempt_buffer.ts";

/** Batches are flushed at least this often, so CSV rows and progress keep up. */
const FLUSH_EVERY_MS = 200;

function post(message: FromConnectWorker, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

/** The attempt in flight, for the watchdog and for Ctrl-C. */
let inFlight: { startPerf: number; abort: AbortController; conn?: Deno.Conn } | null = null;
const lifecycle = answerLifecycle<ConnectJob, GoMessage>(run, () => {
  cancel(inFlight);
});

function cancel(attempt: typeof inFlight): void {
  if (!attempt) return;
  attempt.abort.abort();
  try {
    attempt.conn?.close();
  } catch { /* already closed */ }
}

/**
 * Opens one connection and closes it; resolves when it was established
 * (and its TLS handshake done). The time limit is kept by a watchdog, not
 * a timer per attempt, which would cost a measurable share of a loopback
 * connect.
 */
async function openOnce(job: ConnectJob, attempt: NonNullable<typeof inFlight>): Promise<void> {
  const conn = await Deno.connect({
    hostname: job.host,
    port: job.port,
    transport: "tcp",
    signal: attempt.abort.signal,
  });
  attempt.conn = conn;
  if (job.tls) {
    const tls = await Deno.startTls(conn, {
      hostname: job.serverName,
      caCerts: job.tls.caCerts,
    });
    attempt.conn = tls;
    await tls.handshake();
  }
}

/**
 * One connect with the engine's own code to a listener of this Worker's own
 * on 127.0.0.1, so the one-time costs of a first connect (the runtime's
 * set-up, or cold JavaScript and FFI calls) are paid before "go"; the
 * target sees nothing of it. Best effort: a host that cannot do it measures
 * as before.
 */
async function connectOnceInProcess(ffi: boolean): Promise<void> {
  let listener: Deno.TcpListener | undefined;
  try {
    listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    // Caught here: a connect that fails leaves the accept to fail when the listener closes.
    const accepted = listener.accept().catch(() => undefined);
    const { port } = listener.addr;
    if (ffi) {
      await openAndCloseFfi("127.0.0.1", port, 1000, () => false);
    } else {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    }
    (await accepted)?.close();
  } catch {
    /* measured as before */
  } finally {
    listener?.close();
  }
}

async function run(job: ConnectJob): Promise<void> {
  const histogram = createHistogram();
  const attempts = new AttemptBuffer(job.workerId);
  const flush = batchSender(
    attempts,
    (batch, transfer) => post({ type: "batch", batch }, transfer),
  );
  // One-time costs of the client's own, paid before "go" rather than inside the first measured
  // connect: binding libc's symbols (4–6 ms), then a first connect (0.5–1.7 ms more).
  if (job.engine !== "deno") libc();
  await connectOnceInProcess(job.engine !== "deno");
  post({ type: "ready", workerId: job.workerId });
  const go = await lifecycle.go;
  // Told early, at --start-at, the worker waits for the instant itself.
  if (go?.startEpochMs !== undefined) {
    await waitUntil(perfOfSharedMs(go.startEpochMs), () => lifecycle.stopping);
  }
  const deadlineEpochMs = go?.deadlineEpochMs;
  const deadlinePerf = deadlineEpochMs === undefined ? Infinity : perfOfSharedMs(deadlineEpochMs);

  const flushTimer = setInterval(flush, FLUSH_EVERY_MS);
  let timedOut = false;
  const watchdog = setInterval(() => {
    if (inFlight && performance.now() - inFlight.startPerf > job.timeoutMs) {
      timedOut = true;
      cancel(inFlight);
    }
  }, Math.max(5, Math.min(100, job.timeoutMs / 4)));

  const count = job.count ?? Infinity;
  const ffi = job.engine !== "deno";
  // The FFI engine reads the clock through libc, at half the cost (monotonic_clock.ts).
  const now = ffi ? nowPerf : () => performance.now();
  const cancelled = () => lifecycle.stopping;
  let firstError: string | null = null;
  let succeeded = false;
  let failuresInRow = 0;
  // When the last attempt ended (performance.now()): the end of what this worker measured.
  let lastEndPerf: number | undefined;
  try {
    for (let seq = 0; seq < count && !lifecycle.stopping; seq++) {
      const t0 = now();
      if (t0 >= deadlinePerf) break;
      let error: unknown = null;
      let t1: number;
      if (ffi) {
        // Blocking libc calls on this thread keep their own time limit; no watchdog, no abort.
        // The set-up time ends when the connect is done, before its close (as the default engine's).
        try {
          const established = openAndCloseFfi(job.host, job.port, job.timeoutMs, cancelled, t0);
          t1 = typeof established === "number" ? established : await established;
        } catch (e) {
          error = e;
          t1 = now();
        }
      } else {
        const attempt = { startPerf: t0, abort: new AbortController() };
        inFlight = attempt;
        timedOut = false;
        try {
          await openOnce(job, attempt);
        } catch (e) {
          error = timedOut ? new TimeoutError(`not established within ${job.timeoutMs} ms`) : e;
        }
        t1 = performance.now();
        inFlight = null;
        cancel(attempt);
      }
      // An attempt cut short by Ctrl-C is neither a success nor a failure.
      if (lifecycle.stopping && error) break;
      lastEndPerf = t1;
      const startUs = (sharedMsOfPerf(t0) - job.runStartEpochMs) * 1000;
      if (error === null) {
        const connectUs = (t1 - t0) * 1000;
        recordUs(histogram, connectUs);
        succeeded = true;
        failuresInRow = 0;
        if (attempts.push({ seq, startUs, connectUs, error: 0 })) flush();
      } else {
        firstError ??= (error as Error)?.message ?? String(error);
        failuresInRow++;
        const code = errorCode(classifyError(error));
        if (attempts.push({ seq, startUs, connectUs: NaN, error: code })) flush();
        const limit = succeeded ? GIVE_UP_AFTER_SUCCESS : GIVE_UP_BEFORE_SUCCESS;
        if (failuresInRow >= limit) {
          post({ type: "gaveUp", workerId: job.workerId, consecutiveFailures: failuresInRow });
          break;
        }
      }
    }
  } finally {
    clearInterval(watchdog);
    clearInterval(flushTimer);
  }
  flush();
  post({
    type: "done",
    workerId: job.workerId,
    histogram: encodeHistogram(histogram),
    firstError,
    measuredUntilEpochMs: lastEndPerf === undefined ? null : sharedMsOfPerf(lastEndPerf),
  });
}
