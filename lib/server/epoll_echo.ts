/**
 * `serve --engine ffi`: the TCP echo served through libc's epoll (Linux,
 * FFI), as a C epoll server serves it, for labs that measure microseconds:
 * the default engine's echo adds its runtime's asynchronous reads and
 * writes to every round trip. `threads` Workers each block in
 * `epoll_wait` on the one listener (exclusively, so a connection wakes one
 * of them) and on the connections they accepted; the connection limits
 * and the idle timeout are the default engine's.
 *
 * @module
 */
import { libc, LINUX } from "../engine/libc.ts";
import { ConnectionSlots } from "./connection_slots.ts";
import { listenFfi } from "./ffi_listener.ts";
import { addServiceTotals, type ServiceTotals, zeroServiceTotals } from "./tcp_services.ts";
import type { FromEpollWorker, ToEpollWorker } from "../worker_protocol.ts";

const WORKER_URL = new URL("./epoll_echo_worker.ts", import.meta.url).href;

/** Options of the epoll echo. */
export interface EpollEchoOptions {
  /** An IP address literal to bind. */
  host: string;
  /** 0 lets the OS pick. */
  port: number;
  /** Threads, each with an epoll set. */
  threads: number;
  /** Length of the accept queue. */
  backlog: number;
  /** Connections open at once; more are closed at once. */
  maxConnections: number;
  /** Connections open at once from one source address; 0: no such limit. */
  maxConnectionsPerClient: number;
  /** A connection with no progress for this long is closed; 0 never. */
  idleTimeoutMs: number;
  /** Bytes read at most per call, and kept at most for a peer that does not read. */
  bufferBytes: number;
}

/** A running epoll echo. */
export class EpollEcho {
  readonly host: string;
  readonly port: number;
  #listener: number;
  /** Set to 1 to tell every thread to stop. */
  #stop = new Int32Array(new SharedArrayBuffer(4));
  #stopped: Promise<ServiceTotals>[];

  private constructor(options: EpollEchoOptions, listener: number, port: number) {
    this.host = options.host;
    this.port = port;
    this.#listener = listener;
    const slots = ConnectionSlots.createBuffer();
    this.#stopped = Array.from({ length: options.threads }, (_, i) => {
      const worker = new Worker(WORKER_URL, { type: "module", name: `epoll-echo-${i}` });
      const { promise, resolve, reject } = Promise.withResolvers<ServiceTotals>();
      worker.onmessage = (event: MessageEvent<FromEpollWorker>) => {
        worker.terminate();
        resolve(event.data.totals);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        worker.terminate();
        reject(new Error(`An echo thread failed: ${event.message}`));
      };
      const start: ToEpollWorker = {
        type: "start",
        listenerFd: listener,
        stop: this.#stop,
        slots,
        limits: {
          maxConnections: options.maxConnections,
          maxPerClient: options.maxConnectionsPerClient,
        },
        idleTimeoutMs: options.idleTimeoutMs,
        bufferBytes: options.bufferBytes,
      };
      worker.postMessage(start);
      return promise;
    });
  }

  /** Binds, listens and starts the threads; throws RunError when it cannot listen. */
  static start(options: EpollEchoOptions): EpollEcho {
    const { fd, port } = listenFfi(options.host, options.port, options.backlog, "the epoll echo");
    return new EpollEcho(options, fd, port);
  }

  /**
   * Stops every thread (each closes its connections within one wait of
   * theirs), then the listener; resolves with the echo's totals.
   */
  async close(): Promise<ServiceTotals> {
    Atomics.store(this.#stop, 0, 1);
    const all = await Promise.all(this.#stopped);
    libc().shutdown(this.#listener, LINUX.SHUT_RDWR);
    libc().close(this.#listener);
    const sum = zeroServiceTotals();
    for (const t of all) addServiceTotals(sum, t);
    return sum;
  }
}
