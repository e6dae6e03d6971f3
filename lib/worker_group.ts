/**
 * The life of a measured run on Web Workers, shared by every command:
 * start one Worker per job, wait until all are connected ("ready"), start
 * measuring on all at once ("go"), stop them early on Ctrl-C ("stop"), and
 * wait until each has reported "done" or died. Commands keep only what is
 * theirs: the jobs, the messages they count, and the summary.
 *
 * @module
 */
import process from "node:process";
import { ProgressBar, type ProgressState } from "./progress.ts";
import { perfOfSharedMs, sharedClockMs } from "./run_info.ts";
import { waitUntil } from "./pacer.ts";
import type { RunTiming } from "./results/run_result.ts";
import { onInterrupt } from "./signals.ts";

/** Messages every measuring Worker sends, beside its own. */
export type LifecycleMessage =
  | { type: "ready" }
  | { type: "done" }
  | { type: "error"; message: string };

/** What a {@linkcode WorkerGroup} is started with. */
export interface WorkerGroupOptions<Job, Out> {
  /** Module URL of the Worker: a file `deno compile --include` can embed. */
  url: string;
  /** Thread name prefix, for debuggers and crash messages. */
  name: string;
  jobs: Job[];
  /** Called for every message, lifecycle ones included, in arrival order. */
  onMessage(message: Out, workerIndex: number): void;
}

/** A set of Workers running one job each. */
export class WorkerGroup<In extends { type: string }, Out extends { type: string }> {
  /** Resolves when every worker is ready or finished. */
  readonly ready: Promise<void>;
  /** Resolves when every worker has finished (done, error or crash). */
  readonly done: Promise<void>;
  /** One line per worker that failed, for the summary's warnings. */
  readonly errors: string[] = [];
  #workers: Worker[];

  private constructor(workers: Worker[], ready: Promise<void>, done: Promise<void>) {
    this.#workers = workers;
    this.ready = ready;
    this.done = done;
  }

  /** Starts the workers and sends each its job as `{ type: "start", job }`. */
  static start<Job, In extends { type: string }, Out extends { type: string }>(
    options: WorkerGroupOptions<Job, Out>,
  ): WorkerGroup<In, Out> {
    const count = options.jobs.length;
    const allReady = Promise.withResolvers<void>();
    const allDone = Promise.withResolvers<void>();
    let readyCount = 0;
    let doneCount = 0;
    const workers: Worker[] = [];
    const group = new WorkerGroup<In, Out>(workers, allReady.promise, allDone.promise);
    options.jobs.forEach((job, index) => {
      const worker = new Worker(options.url, { type: "module", name: `${options.name}-${index}` });
      let ready = false;
      let finished = false;
      const markReady = () => {
        if (ready) return;
        ready = true;
        if (++readyCount === count) allReady.resolve();
      };
      const finish = (error?: string) => {
        if (finished) return;
        finished = true;
        if (error !== undefined) group.errors.push(`worker ${index}: ${error}`);
        worker.terminate();
        // A worker that dies before it is ready must not hold the others.
        markReady();
        if (++doneCount === count) allDone.resolve();
      };
      worker.onmessage = (event: MessageEvent<Out>) => {
        const message = event.data;
        options.onMessage(message, index);
        if (message.type === "ready") markReady();
        else if (message.type === "done") finish();
        else if (message.type === "error") {
          finish((message as unknown as { message: string }).message);
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        finish(event.message);
      };
      worker.postMessage({ type: "start", job });
      workers.push(worker);
    });
    if (count === 0) {
      allReady.resolve();
      allDone.resolve();
    }
    return group;
  }

  /** Sends a message to every worker still running. */
  send(message: In): void {
    for (const worker of this.#workers) {
      try {
        worker.postMessage(message);
      } catch { /* already terminated */ }
    }
  }
}

/** Process CPU time over the measured phase, to tell when the client ran out of CPU. */
export interface ClientCpu {
  userSeconds: number;
  systemSeconds: number;
  cores: number;
  /**
   * The wall-clock span the CPU time was taken over ("go" to the last
   * worker's end): a share of cores divides by this, not by the measured
   * window, which leaves out the start margin and the workers' closing.
   */
  seconds: number;
}

/** How the measured phase went. */
export interface MeasuredPhase {
  /** Stopped by Ctrl-C/SIGTERM. */
  interrupted: boolean;
  /** The `--start-at` instant waited for, on the shared clock; null when none was asked. */
  askedStartEpochMs: number | null;
  /** When "go" was sent, on the shared clock. */
  goEpochMs: number;
  /** When the last worker finished, on the shared clock. */
  endEpochMs: number;
  cpu: ClientCpu;
}

/** The messages {@linkcode measure} sends. */
export interface PhaseControl<In> {
  /** The "go" message, given the shared-clock time it is sent at. */
  go(nowEpochMs: number): In;
  stop: In;
  /**
   * `--start-at`: once every worker is ready, wait for this instant (shared
   * clock) before sending "go"; a group ready later goes at once.
   */
  startAtEpochMs?: number;
  /**
   * How long before `startAtEpochMs` to send "go", for workers that start
   * at an instant the message carries rather than on its arrival.
   * @default {0}
   */
  leadMs?: number;
  /** Starts drawing progress once measuring began; returns how to stop it. */
  progress?(goEpochMs: number): (() => void) | undefined;
}

/**
 * Runs the measured phase of a started group: waits until every worker is
 * ready, sends "go" to all at once, turns the first Ctrl-C into "stop", and
 * resolves when all have finished.
 */
export async function measure<In extends { type: string }, Out extends { type: string }>(
  group: WorkerGroup<In, Out>,
  control: PhaseControl<NoInfer<In>>,
): Promise<MeasuredPhase> {
  let interrupted = false;
  const removeSignalListeners = onInterrupt(() => {
    interrupted = true;
    group.send(control.stop);
  });
  try {
    await group.ready;
    if (control.startAtEpochMs !== undefined) {
      await sleepUntil(control.startAtEpochMs - (control.leadMs ?? 0), () => interrupted);
    }
    const goEpochMs = sharedClockMs();
    const cpuStart = process.cpuUsage();
    group.send(control.go(goEpochMs));
    const stopProgress = control.progress?.(goEpochMs);
    await group.done;
    const endEpochMs = sharedClockMs();
    const cpu = process.cpuUsage(cpuStart);
    stopProgress?.();
    return {
      interrupted,
      askedStartEpochMs: control.startAtEpochMs ?? null,
      goEpochMs,
      endEpochMs,
      cpu: {
        userSeconds: cpu.user / 1e6,
        systemSeconds: cpu.system / 1e6,
        cores: navigator.hardwareConcurrency,
        seconds: Math.max(0, (endEpochMs - goEpochMs) / 1000),
      },
    };
  } finally {
    removeSignalListeners();
  }
}

/**
 * The timing of a measured phase for its run result; `startEpochMs` when
 * measuring began later than "go" (a start instant carried by the message).
 * What comes after the measuring (each worker closing its sockets,
 * encoding its histogram, sending its last rows: 5–13 ms here) measures
 * nothing and would lower every rate, by 3% for a 10,000-connection
 * `connect`. So a phase that reached its deadline measured until it, and
 * one that ended otherwise (a count, Ctrl-C, every worker failing)
 * measured until the last worker's measuring loops returned
 * (`measuredUntilEpochMs`, the latest its workers reported; the end of the
 * phase when none did).
 */
export function phaseTiming(
  phase: MeasuredPhase,
  startEpochMs = phase.goEpochMs,
  deadlineEpochMs?: number,
  measuredUntilEpochMs?: number,
): RunTiming {
  let endEpochMs = phase.endEpochMs;
  if (deadlineEpochMs !== undefined && endEpochMs >= deadlineEpochMs) {
    endEpochMs = deadlineEpochMs;
  } else if (measuredUntilEpochMs !== undefined && Number.isFinite(measuredUntilEpochMs)) {
    endEpochMs = Math.max(startEpochMs, Math.min(endEpochMs, measuredUntilEpochMs));
  }
  return { askedStartEpochMs: phase.askedStartEpochMs, startEpochMs, endEpochMs };
}

/** Seconds from the start to the end of a {@linkcode RunTiming}. */
export function secondsOf(timing: RunTiming): number {
  return Math.max(0, (timing.endEpochMs - timing.startEpochMs) / 1000);
}

/**
 * The instant workers that start on a time carried by "go" should start:
 * `marginMs` after "go" so the message reaches each first, and never
 * before `--start-at` (whose wait sends "go" `marginMs` early).
 */
export function startInstant(
  nowEpochMs: number,
  marginMs: number,
  startAtEpochMs: number | undefined,
): number {
  return Math.max(nowEpochMs + marginMs, startAtEpochMs ?? -Infinity);
}

/**
 * Resolves at `epochMs` on the shared clock (at once when it has passed),
 * or as soon as `cancelled()` says so.
 */
export function sleepUntil(epochMs: number, cancelled: () => boolean): Promise<void> {
  return waitUntil(perfOfSharedMs(epochMs), cancelled);
}

/**
 * How long before `--start-at` "go" is sent to workers that wait for the
 * instant themselves: a loaded machine can take tens of ms to deliver a
 * message to a Worker, which would otherwise be a late start.
 */
export const GO_LEAD_MS = 50;

/**
 * The "go" of a run bounded by a count or a duration: when to start
 * measuring (at once, or at `--start-at`, which the workers wait for
 * themselves) and the deadline, both on the shared clock, so every worker
 * starts and stops measuring at the same instant.
 */
export function goWithDeadline(
  durationMs: number | undefined,
  startAtEpochMs?: number,
): (nowEpochMs: number) => { type: "go"; startEpochMs: number; deadlineEpochMs?: number } {
  return (nowEpochMs) => {
    // A group ready after --start-at starts at once: the lateness is recorded.
    const startEpochMs = Math.max(nowEpochMs, startAtEpochMs ?? -Infinity);
    return {
      type: "go",
      startEpochMs,
      deadlineEpochMs: durationMs === undefined ? undefined : startEpochMs + durationMs,
    };
  };
}

/**
 * A {@linkcode PhaseControl.progress} drawing a {@linkcode ProgressBar}
 * when asked for ("auto") and stderr is a terminal.
 */
export function progressBarWhen(
  setting: "auto" | "never",
  read: () => ProgressState,
): () => (() => void) | undefined {
  return () => {
    if (setting !== "auto" || !ProgressBar.wanted()) return undefined;
    const bar = new ProgressBar(read).start();
    return () => bar.stop();
  };
}
