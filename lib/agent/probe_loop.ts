/**
 * Runs one prober on its jittered schedule with a plain timer: idle
 * between probes, one probe at a time, and stopping waits for the probe
 * in flight.
 *
 * @module
 */
import { firstDelayMs, nextDueMs, type ScheduleOptions } from "./schedule.ts";
import type { Prober } from "./probers.ts";

/** A prober on its schedule; stop it with {@linkcode ProbeLoop.stop}. */
export class ProbeLoop {
  #timer?: ReturnType<typeof setTimeout>;
  #inFlight?: Promise<void>;
  #stopped = false;
  #dueMs = 0;

  constructor(
    readonly prober: Prober,
    readonly schedule: ScheduleOptions,
    readonly random: () => number = Math.random,
  ) {}

  /** Starts at a random phase within one interval. */
  start(): void {
    const delayMs = firstDelayMs(this.schedule, this.random);
    this.#dueMs = performance.now() + delayMs;
    this.#timer = setTimeout(() => this.#tick(), delayMs);
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#inFlight = this.prober.probe().finally(() => {
      this.#inFlight = undefined;
      if (this.#stopped) return;
      const nowMs = performance.now();
      this.#dueMs = nextDueMs(this.#dueMs, nowMs, this.schedule, this.random);
      this.#timer = setTimeout(() => this.#tick(), this.#dueMs - nowMs);
    });
  }

  /** Stops the schedule, closes the prober and waits for the probe in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.prober.close();
    await this.#inFlight;
  }
}
