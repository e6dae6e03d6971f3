/**
 * The load of a responsiveness run: throughput streams up to discard and
 * down from chargen at the same time, as flent's RRUL test runs them,
 * driven by the throughput command's own Worker (`lib/throughput/worker.ts`)
 * and counted with its tally, so the load is measured the way `netspeed
 * throughput` measures it.
 *
 * @module
 */
import { ThroughputTally } from "../throughput/tally.ts";
import type { IntervalSchedule } from "../throughput/schedule.ts";
import type {
  FromThroughputWorker,
  ThroughputJob,
  ToThroughputWorker,
} from "../worker_protocol.ts";
import type { ResponsivenessPorts } from "./options.ts";
import { WorkerGroup } from "../worker_group.ts";

const WORKER_URL = new URL("../throughput/worker.ts", import.meta.url).href;

/** What to load the path with. */
export interface LoadPlan {
  host: string;
  ports: ResponsivenessPorts;
  /** Streams per direction. */
  streams: number;
  blockBytes: number;
  timeoutMs: number;
  /** How long the load runs once started. */
  durationMs: number;
  /** Length of the intervals its bytes are counted in. */
  intervalMs: number;
}

/** The jobs: one worker up (streams 0 … S−1), one down (streams S … 2S−1). */
export function loadJobs(plan: LoadPlan): ThroughputJob[] {
  const schedule: IntervalSchedule = {
    omitMs: 0,
    intervalMs: plan.intervalMs,
    durationMs: plan.durationMs,
  };
  const ids = (from: number) => Array.from({ length: plan.streams }, (_, i) => from + i);
  return [
    { mode: "up" as const, port: plan.ports.discard, streamIds: ids(0) },
    { mode: "down" as const, port: plan.ports.chargen, streamIds: ids(plan.streams) },
  ].map((part, workerId) => ({
    workerId,
    ...part,
    host: plan.host,
    blockBytes: plan.blockBytes,
    timeoutMs: plan.timeoutMs,
    schedule,
  }));
}

/** Load streams on their Worker threads, connected and waiting for the go. */
export class Load {
  readonly tally: ThroughputTally;
  liveStreams = 0;
  #group!: WorkerGroup<ToThroughputWorker, FromThroughputWorker>;

  private constructor(tally: ThroughputTally) {
    this.tally = tally;
  }

  /** Starts the workers and connects every stream; resolves when all are ready. */
  static async connect(plan: LoadPlan): Promise<Load> {
    const jobs = loadJobs(plan);
    const load = new Load(new ThroughputTally(jobs[0].schedule));
    load.#group = WorkerGroup.start<ThroughputJob, ToThroughputWorker, FromThroughputWorker>({
      url: WORKER_URL,
      name: "load",
      jobs,
      onMessage(message) {
        if (message.type === "intervals") {
          load.tally.add(message.batch);
        } else if (message.type === "ready") {
          load.liveStreams += message.liveStreams;
          for (const failure of message.failures) {
            load.tally.addFailure(message.workerId, failure);
          }
        } else if (message.type === "failure") {
          load.tally.addFailure(message.workerId, message.failure);
        }
      },
    });
    await load.#group.ready;
    return load;
  }

  /** One line per load worker that failed. */
  get workerErrors(): string[] {
    return this.#group.errors.map((error) => `load ${error}`);
  }

  /** Resolves when every worker has finished (at the end of the schedule, or after a stop). */
  get done(): Promise<void> {
    return this.#group.done;
  }

  /** Starts loading at `startEpochMs` on the shared clock. */
  go(startEpochMs: number): void {
    this.#group.send({ type: "go", startEpochMs });
  }

  /** Stops early (Ctrl-C), closing the interval in progress. */
  stop(): void {
    this.#group.send({ type: "stop" });
  }
}
