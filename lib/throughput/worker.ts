/**
 * The throughput Worker: drives its share of streams (one TCP connection
 * each) as fast as the path takes them, and counts the bytes every write
 * hands to the socket (up) and every read takes from it (down) into the
 * intervals of the shared schedule. One batch per finished interval goes
 * to the main thread; nothing is sent per write or read.
 *
 * Counting starts at the common start the main thread announces. Writers
 * wait for it, as iperf3's do (`--omit` leaves out slow start); readers
 * read from the moment they connect, uncounted until the start, because a
 * chargen stream that nobody reads piles up a receive buffer of backlog
 * that the first interval would count as if it had just arrived.
 *
 * Started by `lib/commands/throughput.ts` from its module URL, so
 * `deno compile --include lib/throughput/worker.ts` can embed it.
 *
 * @module
 */
import { perfOfSharedMs } from "../run_info.ts";
/// <reference lib="deno.worker" />
import { classifyError, connectTcp, PeerClosedError } from "../net_io.ts";
import {
  type FromThroughputWorker,
  type IntervalBatch,
  type StreamFailure,
  type ThroughputJob,
  type ToThroughputWorker,
  TRANSFER_DIRECTIONS,
  type TransferDirection,
} from "../worker_protocol.ts";
import { answerLifecycle } from "../worker_lifecycle.ts";

type GoMessage = Extract<ToThroughputWorker, { type: "go" }>;
import { intervalAt, intervalBounds, type IntervalSchedule, totalMs } from "./schedule.ts";

function post(message: FromThroughputWorker, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

let counter: IntervalCounter | undefined;
const lifecycle = answerLifecycle<ThroughputJob, GoMessage>(run, () => {
  counter?.stopNow();
});

/** One counted (stream, direction) pair. */
interface Slot {
  stream: number;
  direction: TransferDirection;
  /** Rows are still emitted for it (false after its stream failed and its last row went out). */
  alive: boolean;
  /** Its stream failed: emit the interval in progress, then stop. */
  dying: boolean;
}

/**
 * Counts bytes per slot into the interval in progress and emits a batch
 * whenever an interval ends, by time (a timer at each boundary, so a
 * starved stream still gets its zero rows) or by an I/O completion that
 * lands in a later interval.
 */
class IntervalCounter {
  readonly slots: Slot[];
  #counts: Float64Array;
  #schedule: IntervalSchedule;
  #workerId: number;
  #startPerf = Infinity;
  #endPerf = Infinity;
  #current = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #finished = false;
  #onFinish: () => void;

  constructor(job: ThroughputJob, slots: Slot[], onFinish: () => void) {
    this.slots = slots;
    this.#counts = new Float64Array(slots.length);
    this.#schedule = job.schedule;
    this.#workerId = job.workerId;
    this.#onFinish = onFinish;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Performance-clock time of the common start (Infinity before `go`). */
  get startPerf(): number {
    return this.#startPerf;
  }

  /** Starts counting at `startEpochMs` on the shared clock. */
  start(startEpochMs: number): void {
    this.#startPerf = perfOfSharedMs(startEpochMs);
    this.#endPerf = this.#startPerf + totalMs(this.#schedule);
    this.#arm();
  }

  /** Adds `bytes` moved just now by slot `slot`. */
  add(slot: number, bytes: number): void {
    const now = performance.now();
    if (now < this.#startPerf || this.#finished) return;
    if (now >= this.#endPerf) {
      this.#finish(totalMs(this.#schedule));
      return;
    }
    const index = intervalAt(this.#schedule, now - this.#startPerf);
    if (index !== this.#current) this.#rollTo(index);
    this.#counts[slot] += bytes;
  }

  /** Marks a stream failed: its slots get a last row for the interval in progress. */
  fail(stream: number): void {
    const counting = performance.now() >= this.#startPerf && !this.#finished;
    for (const slot of this.slots) {
      if (slot.stream !== stream) continue;
      if (counting) slot.dying = true;
      else slot.alive = false;
    }
  }

  /** Ctrl-C: close the interval in progress where it stands. */
  stopNow(): void {
    const elapsed = performance.now() - this.#startPerf;
    if (elapsed < 0 || !Number.isFinite(elapsed)) {
      this.#finished = true;
      clearTimeout(this.#timer);
      this.#onFinish();
      return;
    }
    this.#finish(Math.min(elapsed, totalMs(this.#schedule)));
  }

  /** Timer at the next boundary, so intervals end even when no byte moves. */
  #arm(): void {
    if (this.#finished) return;
    const boundaryMs = intervalBounds(this.#schedule, this.#current).endMs;
    const delay = Math.max(0, this.#startPerf + boundaryMs - performance.now());
    this.#timer = setTimeout(() => {
      const elapsed = performance.now() - this.#startPerf;
      if (elapsed >= totalMs(this.#schedule)) {
        this.#finish(totalMs(this.#schedule));
        return;
      }
      this.#rollTo(intervalAt(this.#schedule, elapsed));
      this.#arm();
    }, delay);
  }

  #rollTo(index: number): void {
    while (this.#current < index) {
      this.#emit(this.#current, intervalBounds(this.#schedule, this.#current).endMs);
      this.#current++;
    }
  }

  #finish(elapsedMs: number): void {
    if (this.#finished) return;
    // Intervals wholly before the end first, then the one the end falls in.
    const bounds = intervalBounds(this.#schedule, intervalAt(this.#schedule, elapsedMs));
    if (elapsedMs >= bounds.endMs) this.#rollTo(bounds.index + 1);
    else this.#rollTo(bounds.index);
    if (this.#current === bounds.index && elapsedMs > bounds.startMs) {
      this.#emit(bounds.index, Math.min(elapsedMs, bounds.endMs));
    }
    this.#finished = true;
    clearTimeout(this.#timer);
    this.#onFinish();
  }

  #emit(index: number, endMs: number): void {
    const live = this.slots.filter((slot) => slot.alive);
    const n = live.length;
    if (n === 0) return;
    const batch: IntervalBatch = {
      workerId: this.#workerId,
      length: n,
      stream: new Uint32Array(n),
      direction: new Uint8Array(n),
      interval: new Uint32Array(n),
      endMs: new Float64Array(n),
      bytes: new Float64Array(n),
    };
    let row = 0;
    this.slots.forEach((slot, i) => {
      if (!slot.alive) return;
      batch.stream[row] = slot.stream;
      batch.direction[row] = TRANSFER_DIRECTIONS.indexOf(slot.direction);
      batch.interval[row] = index;
      batch.endMs[row] = endMs;
      batch.bytes[row] = this.#counts[i];
      row++;
      if (slot.dying) slot.alive = false;
    });
    this.#counts.fill(0);
    post({ type: "intervals", batch }, [
      batch.stream.buffer,
      batch.direction.buffer,
      batch.interval.buffer,
      batch.endMs.buffer,
      batch.bytes.buffer,
    ] as ArrayBuffer[]);
  }
}

/** Random bytes, made once: what the streams send. */
function makeBlock(bytes: number): Uint8Array {
  const block = new Uint8Array(bytes);
  // getRandomValues fills at most 64 KiB per call.
  for (let offset = 0; offset < bytes; offset += 65536) {
    crypto.getRandomValues(block.subarray(offset, Math.min(bytes, offset + 65536)));
  }
  return block;
}

async function run(job: ThroughputJob): Promise<void> {
  const failures: StreamFailure[] = [];
  const connected = await Promise.all(job.streamIds.map(async (stream) => {
    try {
      return { stream, conn: await connectTcp(job.host, job.port, job.timeoutMs) };
    } catch (error) {
      failures.push({
        stream,
        kind: classifyError(error),
        message: (error as Error)?.message ?? String(error),
        atMs: null,
      });
      return undefined;
    }
  }));
  const streams = connected.filter((s): s is { stream: number; conn: Deno.TcpConn } =>
    s !== undefined
  );

  const directions: TransferDirection[] = job.mode === "both" ? ["up", "down"] : [job.mode];
  const slots: Slot[] = streams.flatMap(({ stream }) =>
    directions.map((direction) => ({ stream, direction, alive: true, dying: false }))
  );
  const closeAll = () => {
    for (const { conn } of streams) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };
  const finished = Promise.withResolvers<void>();
  counter = new IntervalCounter(job, slots, () => {
    // Pending reads and writes end with an error once their socket closes.
    closeAll();
    finished.resolve();
  });
  const count = counter;
  const failed = new Set<number>();
  const fail = (stream: number, conn: Deno.TcpConn, error: unknown) => {
    if (count.finished || lifecycle.stopping || failed.has(stream)) return;
    failed.add(stream);
    const atMs = performance.now() - count.startPerf;
    count.fail(stream);
    post({
      type: "failure",
      workerId: job.workerId,
      failure: {
        stream,
        kind: classifyError(error),
        message: (error as Error)?.message ?? String(error),
        atMs: Number.isFinite(atMs) && atMs >= 0 ? atMs : null,
      },
    });
    try {
      conn.close();
    } catch { /* already closed */ }
  };

  const block = makeBlock(job.blockBytes);
  const loops: Promise<void>[] = [];
  const started = Promise.withResolvers<void>();
  streams.forEach(({ stream, conn }, i) => {
    directions.forEach((direction, d) => {
      const slot = i * directions.length + d;
      loops.push(
        direction === "up"
          ? writeLoop(conn, block, slot, started.promise).catch((e) => fail(stream, conn, e))
          : readLoop(conn, job.blockBytes, slot).catch((e) => fail(stream, conn, e)),
      );
    });
  });

  post({ type: "ready", workerId: job.workerId, liveStreams: streams.length, failures });
  const startEpochMs = (await lifecycle.go)?.startEpochMs ?? null;
  if (startEpochMs === null || streams.length === 0) {
    count.stopNow();
  } else {
    count.start(startEpochMs);
    // Writers start at the common start, not at the go message, so no
    // byte is written uncounted before it.
    const waitMs = count.startPerf - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    while (performance.now() < count.startPerf) { /* under a millisecond of timer slack */ }
    started.resolve();
  }
  await finished.promise;
  started.resolve();
  await Promise.allSettled(loops);
  post({ type: "done", workerId: job.workerId });
}

async function writeLoop(
  conn: Deno.TcpConn,
  block: Uint8Array,
  slot: number,
  started: Promise<void>,
): Promise<void> {
  // Writes wait for the common start, so every stream has connected before any loads the path.
  await started;
  const count = counter!;
  while (!count.finished) {
    // A short write counts what it took; the next write offers a full block again.
    const n = await conn.write(block);
    count.add(slot, n);
  }
}

async function readLoop(conn: Deno.TcpConn, blockBytes: number, slot: number): Promise<void> {
  const buffer = new Uint8Array(blockBytes);
  const count = counter!;
  while (!count.finished) {
    const n = await conn.read(buffer);
    if (n === null) throw new PeerClosedError("connection closed by the peer");
    count.add(slot, n);
  }
}
