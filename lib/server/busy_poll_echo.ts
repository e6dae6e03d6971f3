/**
 * `serve --busy-poll`: an echo that spins instead of sleeping, for labs
 * that want the floor of a round trip. Each connection gets its own Worker
 * thread that reads with `MSG_DONTWAIT` in a loop (one full core each), so
 * no wake-up of a sleeping thread is in the echo's time. At most
 * `threads` connections are served at once; more are closed at once
 * (counted as refused), since a connection nobody spins for would be
 * slower than the ones measured. Linux only (libc through FFI).
 *
 * @module
 */
import { libc, LINUX } from "../engine/libc.ts";
import { listenFfi } from "./ffi_listener.ts";
import { formatCount } from "../table.ts";
import type { FromBusyPollWorker, ToBusyPollWorker } from "../worker_protocol.ts";

const WORKER_URL = new URL("./busy_poll_worker.ts", import.meta.url).href;

/**
 * Longest wait for a connection before the accept loop looks at whether it
 * was closed. The loop sleeps in `poll` off the main thread: a timer that
 * looked for connections every millisecond woke this idle process a
 * thousand times a second, and that alone made a busy-poll client against
 * another server on this 2-core VM 30% slower (24.5 against 18.6 µs p50).
 */
const ACCEPT_WAIT_MS = 200;

/** Options of the busy-polling echo. */
export interface BusyPollEchoOptions {
  /** An IP address literal to bind. */
  host: string;
  /** 0 lets the OS pick. */
  port: number;
  /** Connections served at once, each spinning on its own thread. */
  threads: number;
  /** Bytes read at most per call. */
  bufferBytes: number;
}

/** The default bound on spinning threads: every core but one, at least one. */
export function defaultBusyPollThreads(): number {
  return Math.max(1, navigator.hardwareConcurrency - 1);
}

/** What the echo did. */
export interface BusyPollTotals {
  connections: number;
  refused: number;
  bytesEchoed: number;
}

/** A running busy-polling echo. */
export class BusyPollEcho {
  readonly host: string;
  readonly port: number;
  readonly totals: BusyPollTotals = { connections: 0, refused: 0, bytesEchoed: 0 };
  #listener: number;
  #accepting: Promise<void>;
  #closing = false;
  /** Set to 1 to tell every spinning Worker to stop. */
  #stop = new Int32Array(new SharedArrayBuffer(4));
  #spinning = new Set<Promise<void>>();
  #options: BusyPollEchoOptions;

  private constructor(options: BusyPollEchoOptions, listener: number, port: number) {
    this.#options = options;
    this.host = options.host;
    this.port = port;
    this.#listener = listener;
    this.#accepting = this.#acceptLoop();
  }

  /** Binds and listens; throws RunError when it cannot. */
  static start(options: BusyPollEchoOptions): BusyPollEcho {
    const { fd, port } = listenFfi(options.host, options.port, 128, "the busy-polling echo");
    return new BusyPollEcho(options, fd, port);
  }

  /** Waits for connections without holding the main thread, until closed. */
  async #acceptLoop(): Promise<void> {
    const pollFd = new Uint8Array(8);
    const view = new DataView(pollFd.buffer);
    view.setInt32(0, this.#listener, true);
    view.setInt16(4, LINUX.POLLIN, true);
    while (!this.#closing) {
      view.setInt16(6, 0, true);
      const ready = await libc().pollOffThread(pollFd, 1n, ACCEPT_WAIT_MS);
      if (this.#closing) return;
      if (ready > 0) this.#acceptPending();
    }
  }

  #acceptPending(): void {
    const c = libc();
    while (true) {
      const fd = c.accept4(this.#listener, null, null, LINUX.SOCK_CLOEXEC);
      if (fd < 0) return;
      if (this.#spinning.size >= this.#options.threads) {
        this.totals.refused++;
        c.close(fd);
        continue;
      }
      this.totals.connections++;
      this.#spin(fd);
    }
  }

  #spin(fd: number): void {
    const worker = new Worker(WORKER_URL, { type: "module", name: `busy-poll-echo-${fd}` });
    const done = Promise.withResolvers<void>();
    const finish = () => {
      worker.terminate();
      this.#spinning.delete(done.promise);
      done.resolve();
    };
    worker.onmessage = (event: MessageEvent<FromBusyPollWorker>) => {
      this.totals.bytesEchoed += event.data.bytesEchoed;
      finish();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      libc().close(fd);
      finish();
    };
    this.#spinning.add(done.promise);
    const start: ToBusyPollWorker = {
      type: "start",
      fd,
      stop: this.#stop,
      bufferBytes: this.#options.bufferBytes,
    };
    worker.postMessage(start);
  }

  /** Stops accepting, stops every spinning Worker (which closes its connection). */
  async close(): Promise<void> {
    this.#closing = true;
    // Shutting the listener down wakes the poll waiting on it; the descriptor is closed only
    // once that poll has returned, so its number cannot be reused under it.
    libc().shutdown(this.#listener, LINUX.SHUT_RDWR);
    await this.#accepting;
    libc().close(this.#listener);
    Atomics.store(this.#stop, 0, 1);
    await Promise.all([...this.#spinning]);
  }
}

/** The line `serve` prints when the busy-polling echo stops. */
export function formatBusyPollTotals(t: BusyPollTotals): string {
  return `echo (busy-poll): ${formatCount(t.connections)} connection${
    t.connections === 1 ? "" : "s"
  }, ${formatCount(t.refused)} refused (no thread free to spin), ${
    formatCount(t.bytesEchoed)
  } bytes echoed`;
}
