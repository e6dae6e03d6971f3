/**
 * The in-process server API: starts netspeed's services (TCP echo,
 * discard, chargen, TLS echo and the UDP echo) on Worker threads, reads
 * their totals while they run and stops them. `serve`, `bench` and the
 * agent all start servers through {@linkcode startServer}.
 *
 * Each thread has its own listener on the same ports (`SO_REUSEPORT`: the
 * kernel spreads new connections over them) and its own event loop; the
 * connection limits are shared through one {@linkcode ConnectionSlots}
 * buffer, so they hold for the whole server. The UDP echo runs on the
 * first thread only: Deno cannot set `SO_REUSEPORT` on a UDP socket (its
 * `reuseAddress` lets the last socket bound take every datagram).
 *
 * @example
 * ```ts
 * const server = await startServer({ ...DEFAULT_SERVER_OPTIONS, ports: { echo: 0, discard: null, chargen: null } });
 * console.log(server.port("echo"));
 * const { tcp } = await server.stop();
 * ```
 *
 * @module
 */
import { RunError } from "../errors.ts";
import type { FromServerWorker, ToServerWorker } from "../worker_protocol.ts";
import { ConnectionSlots } from "./connection_slots.ts";
import { ThreadServices } from "./thread_services.ts";
import {
  addServiceTotals,
  type BoundService,
  closeQuietly,
  DEFAULT_TCP_SERVICES_OPTIONS,
  type ServiceTotals,
  type TcpServiceName,
  type TcpServicesOptions,
  zeroServiceTotals,
} from "./tcp_services.ts";
import type { UdpEchoOptions, UdpEchoTotals } from "./udp_echo.ts";

const SERVER_WORKER_URL = new URL("./server_worker.ts", import.meta.url).href;

/** Echo over UDP as a server runs it: on the TCP echo port's number. */
export type ServerUdpOptions = Omit<UdpEchoOptions, "port">;

/** Options of {@linkcode startServer}. */
export type ServerOptions = TcpServicesOptions & {
  /** Worker threads, each with its own listeners and event loop. @default {navigator.hardwareConcurrency} */
  threads: number;
  /** Echo over UDP on the echo port's number; off when absent or `null`. @default {null} */
  udp?: ServerUdpOptions | null;
  /**
   * Run the first thread's services on the calling thread's event loop
   * instead of a Worker: `serve`'s main thread has nothing else to do, and
   * a Worker costs about 10 MB. Leave it off when the caller measures on its
   * own event loop (`bench`, the agent).
   * @default {false}
   */
  firstThreadHere?: boolean;
};

/** The defaults: every core, loopback only, no UDP. */
export const DEFAULT_SERVER_OPTIONS: Readonly<ServerOptions> = Object.freeze({
  ...DEFAULT_TCP_SERVICES_OPTIONS,
  threads: defaultThreads(),
  udp: null,
});

/** What the services did, summed over every thread. */
export interface ServerTotals {
  tcp: Record<TcpServiceName, ServiceTotals>;
  /** The UDP echo's counters; null when it does not run. */
  udp: UdpEchoTotals | null;
}

/** A server running on Worker threads. */
export interface RunningServer {
  /** Where each TCP service listens (every thread listens on the same ports). */
  bound: BoundService[];
  /** Where the UDP echo listens; null when it does not run. */
  udp: { host: string; port: number } | null;
  /** Threads actually running. */
  threads: number;
  /** What differs from what was asked, one sentence each (e.g. fewer threads on this OS). */
  notes: string[];
  /** Port of a service that was bound; throws for one that was not. */
  port(service: TcpServiceName): number;
  /** Totals so far and connections open right now, without stopping. */
  totals(): Promise<ServerTotals & { openConnections: number }>;
  /** Stops accepting, closes every connection, ends the threads; resolves with the totals. */
  stop(): Promise<ServerTotals>;
}

/** The number of cores, which is what `--threads` defaults to. */
export function defaultThreads(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/** A server thread as the main thread talks to it: one question at a time. */
interface ServerThreadHandle {
  ask(message: ToServerWorker): Promise<FromServerWorker>;
  terminate(): void;
}

/** The first thread's services on the calling thread's own event loop. */
class LocalThread implements ServerThreadHandle {
  #services = new ThreadServices();
  ask(message: ToServerWorker): Promise<FromServerWorker> {
    return this.#services.handle(message);
  }
  terminate(): void {}
}

/** One Worker, asked one thing at a time. */
class ServerWorker implements ServerThreadHandle {
  #worker = new Worker(SERVER_WORKER_URL, { type: "module", name: "server" });
  #pending?: { resolve(message: FromServerWorker): void; reject(error: Error): void };
  #failure?: Error;

  constructor() {
    this.#worker.onmessage = (event: MessageEvent<FromServerWorker>) => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.resolve(event.data);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#failure = new RunError(`Server thread failed: ${event.message}`);
      this.#pending?.reject(this.#failure);
      this.#pending = undefined;
    };
  }

  ask(message: ToServerWorker): Promise<FromServerWorker> {
    if (this.#failure) return Promise.reject(this.#failure);
    const { promise, resolve, reject } = Promise.withResolvers<FromServerWorker>();
    this.#pending = { resolve, reject };
    this.#worker.postMessage(message);
    return promise;
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

/**
 * Starts the services on `options.threads` Workers (one on systems without
 * `SO_REUSEPORT`); rejects with a {@linkcode RunError} if they cannot bind.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { ports, tls } = options;
  if (ports.echo === null && ports.discard === null && ports.chargen === null && !tls) {
    throw new RunError("Cannot serve: every service is turned off");
  }
  if (options.udp && ports.echo === null) {
    throw new RunError("Cannot serve echo over UDP: --udp needs the echo service");
  }
  const notes: string[] = [];
  let threads = Math.max(1, Math.floor(options.threads));
  if (threads > 1 && Deno.build.os !== "linux") {
    notes.push(
      `Running 1 thread, not ${threads}: sharing a port between threads needs SO_REUSEPORT's load balancing, which only Linux has`,
    );
    threads = 1;
  }
  const reusePort = threads > 1;
  if (reusePort) ensurePortsFree(options);
  const slots = ConnectionSlots.createBuffer();
  const workers: ServerThreadHandle[] = [];
  const stopAll = async () => {
    await Promise.allSettled(workers.map((w) => w.ask({ type: "stop" })));
    for (const worker of workers) worker.terminate();
  };

  let bound: BoundService[] = [];
  let udp: { host: string; port: number } | null = null;
  try {
    for (let i = 0; i < threads; i++) {
      const worker = i === 0 && options.firstThreadHere ? new LocalThread() : new ServerWorker();
      workers.push(worker);
      // The first thread picks any port left to the OS (0); the others join it there.
      const port = (service: TcpServiceName, asked: number | null) =>
        i === 0 || asked === null ? asked : bound.find((b) => b.service === service)!.port;
      const threadOptions: TcpServicesOptions = {
        ...withoutServerFields(options),
        ports: {
          echo: port("echo", ports.echo),
          discard: port("discard", ports.discard),
          chargen: port("chargen", ports.chargen),
        },
        tls: tls ? { ...tls, port: port("tls-echo", tls.port)! } : null,
        reusePort,
      };
      const reply = await worker.ask({
        type: "start",
        options: threadOptions,
        slots,
        // UDP goes on the first thread, on the port its echo gets.
        udp: i === 0 && options.udp ? { ...options.udp, port: ports.echo ?? 0 } : null,
      });
      if (reply.type !== "listening") {
        throw new RunError(reply.type === "error" ? reply.message : "Server thread did not start");
      }
      if (i === 0) {
        bound = reply.bound;
        udp = reply.udp ?? null;
      }
    }
  } catch (error) {
    await stopAll();
    throw error instanceof RunError ? error : new RunError((error as Error).message);
  }
  if (udp && threads > 1) {
    notes.push(
      "udp-echo runs on 1 thread: Deno cannot share a UDP port between threads (no SO_REUSEPORT for UDP)",
    );
  }

  let stopped: Promise<ServerTotals> | undefined;
  return {
    bound,
    udp,
    threads,
    notes,
    port(service) {
      const found = bound.find((b) => b.service === service);
      if (!found) throw new RunError(`The ${service} service is not running`);
      return found.port;
    },
    async totals() {
      const replies = await Promise.all(workers.map((w) => w.ask({ type: "totals" })));
      let openConnections = 0;
      for (const reply of replies) {
        if (reply.type === "totals") openConnections += reply.openConnections;
      }
      return { ...sumTotals(replies), openConnections };
    },
    stop() {
      return stopped ??= (async () => {
        const replies = await Promise.all(workers.map((w) => w.ask({ type: "stop" })));
        for (const worker of workers) worker.terminate();
        return sumTotals(replies);
      })();
    },
  };
}

/** Adds up the totals several threads reported. */
export function sumTotals(replies: FromServerWorker[]): ServerTotals {
  const zero = zeroServiceTotals;
  const tcp: Record<TcpServiceName, ServiceTotals> = {
    echo: zero(),
    discard: zero(),
    chargen: zero(),
    "tls-echo": zero(),
  };
  let udp: UdpEchoTotals | null = null;
  for (const reply of replies) {
    if (reply.type !== "totals" && reply.type !== "stopped") continue;
    for (const [service, t] of Object.entries(reply.totals ?? {})) {
      addServiceTotals(tcp[service as TcpServiceName], t);
    }
    if (reply.udp) udp = { ...reply.udp };
  }
  return { tcp, udp };
}

/** Just the options one thread's {@linkcode TcpServices} takes. */
function withoutServerFields(options: ServerOptions): TcpServicesOptions {
  const { threads: _threads, udp: _udp, firstThreadHere: _here, ...tcp } = options;
  return tcp;
}

/**
 * With `SO_REUSEPORT`, binding a port another reuse-port server (of the same
 * user) holds would quietly share it instead of failing. Binding each fixed
 * port once without the option first keeps "address in use" an error.
 */
function ensurePortsFree(options: ServerOptions): void {
  const fixed: [string, number | null][] = [
    ["echo", options.ports.echo],
    ["discard", options.ports.discard],
    ["chargen", options.ports.chargen],
    ["tls-echo", options.tls?.port ?? null],
  ];
  for (const [service, port] of fixed) {
    if (!port) continue;
    try {
      closeQuietly(Deno.listen({ hostname: options.host, port, transport: "tcp" }));
    } catch (error) {
      throw new RunError(
        `Cannot listen on "${options.host}:${port}" for ${service}: ${(error as Error).message}`,
      );
    }
  }
}

/** A server on one thread, as `bench` uses it. */
export interface ServerThread {
  bound: BoundService[];
  /** Port of a service that was bound. */
  port(service: TcpServiceName): number;
  /** Stops the services and the thread; resolves with their totals. */
  stop(): Promise<Record<TcpServiceName, ServiceTotals> | null>;
}

/** Starts the TCP services on one Worker thread; rejects if they cannot bind. */
export async function startServerThread(options: TcpServicesOptions): Promise<ServerThread> {
  const server = await startServer({ ...options, threads: 1, udp: null });
  return {
    bound: server.bound,
    port: server.port,
    async stop() {
      return (await server.stop()).tcp;
    },
  };
}
