/**
 * The Worker side of {@linkcode WorkerGroup}: every measuring Worker gets
 * its job in a "start" message, waits for "go", and must stop early on
 * "stop". This module answers those messages so each Worker module keeps
 * only its measuring.
 *
 * @module
 */
/// <reference lib="deno.worker" />

/** Where a Worker stands; read by its loops. */
export interface Lifecycle<Go> {
  /** True once "stop" arrived (Ctrl-C): finish the attempt in flight, flush, report. */
  readonly stopping: boolean;
  /** Resolves with the "go" message, or with null when "stop" came first. */
  readonly go: Promise<Go | null>;
}

type Control<Job, Go> =
  | { type: "start"; job: Job }
  | Go
  | { type: "stop" };

/**
 * Answers the lifecycle messages of this Worker: "start" calls `run` with
 * the job (a rejection is reported as an "error" message), "go" resolves
 * {@linkcode Lifecycle.go}, "stop" sets {@linkcode Lifecycle.stopping} and
 * calls `onStop`, which should close whatever a peer could keep waiting.
 */
export function answerLifecycle<Job extends { workerId: number }, Go extends { type: "go" }>(
  run: (job: Job) => Promise<void>,
  onStop: () => void = () => {},
): Lifecycle<Go> {
  const go = Promise.withResolvers<Go | null>();
  const lifecycle = { stopping: false, go: go.promise };
  self.onmessage = (event: MessageEvent<Control<Job, Go>>) => {
    const message = event.data;
    if (message.type === "start") {
      const { job } = message as { job: Job };
      run(job).catch((error) => {
        self.postMessage({
          type: "error",
          workerId: job.workerId,
          message: String(error?.stack ?? error),
        });
      });
    } else if (message.type === "go") {
      go.resolve(message as Go);
    } else if (message.type === "stop") {
      lifecycle.stopping = true;
      go.resolve(null);
      onStop();
    }
  };
  return lifecycle;
}
