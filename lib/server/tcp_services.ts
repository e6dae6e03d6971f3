/**
 * netspeed's TCP services: echo (RFC 862), discard (RFC 863),
 * character generator (RFC 864) and, given a certificate, echo over TLS,
 * sharing one connection limit, one idle timeout and one shutdown. Each
 * connection is an async task on one event loop, so thousands of them cost
 * no threads; several event loops (Worker threads, see `server_threads.ts`)
 * can each run a `TcpServices` on the same ports with `reusePort`, sharing
 * their limits through {@linkcode ConnectionSlots}.
 *
 * Memory stays bounded per connection: echo reads at most `bufferBytes` and
 * does not read again until that data is written back, so a client that
 * never reads stalls its own connection (TCP flow control pushes back on
 * it) instead of growing the server. The read buffer starts at
 * {@linkcode INITIAL_BUFFER_BYTES} and grows only while reads fill it, so
 * an idle connection holds a few KiB, not `bufferBytes`.
 *
 * @module
 */

/** The plain TCP services, each on its own port. */
export type PlainServiceName = "echo" | "discard" | "chargen";

/** Every service `serve` can run: the plain ones and echo over TLS. */
export type TcpServiceName = PlainServiceName | "tls-echo";

/** Where the TLS echo service listens and the PEM files it presents. */
export interface TlsEchoOptions {
  /** Port of the TLS echo service; 0 lets the OS pick. @default {7443} */
  port: number;
  /** PEM certificate chain file. */
  certFile: string;
  /** PEM private key file. */
  keyFile: string;
}

import { ConnectionSlots, type Slot } from "./connection_slots.ts";

/** Port of the TLS echo service unless `--tls-port` says otherwise. */
export const DEFAULT_TLS_PORT = 7443;

/** Options of {@linkcode startTcpServices}. */
export interface TcpServicesOptions {
  /** Address to bind. @default {"127.0.0.1"} */
  host: string;
  /** Port per service; `null` turns the service off, 0 lets the OS pick. */
  ports: Record<PlainServiceName, number | null>;
  /** Echo over TLS; off when absent or `null` (it needs a certificate). @default {null} */
  tls?: TlsEchoOptions | null;
  /** Connections open at once across all services; more are closed at once. @default {10000} */
  maxConnections: number;
  /** A connection with no progress for this long is closed; 0 never. @default {60000} */
  idleTimeoutMs: number;
  /** Bytes buffered per connection at most (echo's largest read and its whole backlog). @default {65536} */
  bufferBytes: number;
  /**
   * Length of each listener's accept queue. The kernel caps it at
   * `net.core.somaxconn` (4096 on recent Linux) without saying so.
   * @default {4096}
   */
  backlog?: number;
  /** Connections open at once from one source address; 0: no such limit. @default {0} */
  maxConnectionsPerClient?: number;
  /**
   * Bind with `SO_REUSEPORT` so other threads can listen on the same ports
   * and the kernel spreads connections over them (Linux).
   * @default {false}
   */
  reusePort?: boolean;
}

/**
 * Accept queue per listener: deep enough that a storm of connects from a
 * few client threads does not overflow it (511, Deno's default, did).
 */
export const DEFAULT_BACKLOG = 4096;

/** The defaults: loopback only, so exposing the server takes an explicit `--host`. */
export const DEFAULT_TCP_SERVICES_OPTIONS: Readonly<TcpServicesOptions> = Object.freeze({
  host: "127.0.0.1",
  ports: Object.freeze({ echo: 7007, discard: 7009, chargen: 7019 }),
  maxConnections: 10_000,
  idleTimeoutMs: 60_000,
  bufferBytes: 65_536,
  backlog: DEFAULT_BACKLOG,
  maxConnectionsPerClient: 0,
  tls: null,
});

/**
 * Bytes an echo or discard connection reads into until its reads fill the
 * buffer: 10,000 idle connections hold 5 MB of buffers, not 640 MB. A
 * 1 KiB round trip fills it once, which grows it to 2 KiB for the rest.
 */
export const INITIAL_BUFFER_BYTES = 64;

/**
 * Consecutive reads this much smaller than the buffer (a sixteenth) after
 * which a grown buffer goes back to {@linkcode INITIAL_BUFFER_BYTES}: a
 * connection that stopped streaming gives its memory back, and one that
 * alternates does not reallocate on every read.
 */
const SMALL_READS_BEFORE_SHRINK = 64;

/** Counters of one service since start. */
export interface ServiceTotals {
  /** Connections accepted and served. */
  connections: number;
  /** Connections closed at once because a limit was reached (server-wide or per client). */
  refused: number;
  /** Of `refused`, those closed because their source address held `maxConnectionsPerClient`. */
  refusedPerClient: number;
  /** Connections closed for idling longer than `idleTimeoutMs`. */
  idleClosed: number;
  bytesReceived: number;
  bytesSent: number;
}

/** Counters of a service that has done nothing yet. */
export function zeroServiceTotals(): ServiceTotals {
  return {
    connections: 0,
    refused: 0,
    refusedPerClient: 0,
    idleClosed: 0,
    bytesReceived: 0,
    bytesSent: 0,
  };
}

/** Adds `t`'s counters into `sum` (a key `t` lacks adds nothing). */
export function addServiceTotals(sum: ServiceTotals, t: Partial<ServiceTotals>): void {
  for (const key of Object.keys(sum) as (keyof ServiceTotals)[]) sum[key] += t[key] ?? 0;
}

/** A bound service: where it listens. */
export interface BoundService {
  service: TcpServiceName;
  host: string;
  port: number;
}

interface Tracked {
  conn: Deno.Conn;
  service: TcpServiceName;
  /**
   * Value of the services' coarse clock at the last progress: a counter the
   * idle sweep advances, so a round trip stores an integer instead of
   * reading the time twice.
   */
  lastActivityTick: number;
  idle: boolean;
  /**
   * A chargen write is waiting on TCP flow control: the client is connected
   * and reads at its own pace. The kernel wakes a blocked writer only once
   * a third of the send buffer is free, which a slow reader may take far
   * longer than the idle timeout to drain, so this is not idleness.
   */
  waitingOnReader: boolean;
}

/** Bytes in one full cycle of the chargen pattern: 95 lines of 72 characters and CRLF. */
export const CHARGEN_CYCLE_BYTES = 95 * 74;

/** Bytes chargen offers per write: big writes keep a fast reader fed (iperf3 uses 128 KiB). */
const CHARGEN_WRITE_BYTES = 18 * CHARGEN_CYCLE_BYTES;

/**
 * The RFC 864 pattern, one line per row: 72 printable characters, rotating
 * by one each line. Long enough that a write of
 * {@linkcode CHARGEN_WRITE_BYTES} can start anywhere in the first cycle.
 */
export function chargenPattern(): Uint8Array {
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
  let text = "";
  for (let line = 0; line < 95; line++) {
    text += (printable + printable).slice(line, line + 72) + "\r\n";
  }
  return new TextEncoder().encode(text.repeat(CHARGEN_WRITE_BYTES / CHARGEN_CYCLE_BYTES + 1));
}

/** The running services; stop them with {@linkcode TcpServices.close}. */
export class TcpServices {
  readonly bound: BoundService[] = [];
  readonly totals: Record<TcpServiceName, ServiceTotals>;
  #options: TcpServicesOptions;
  #slots: ConnectionSlots;
  #listeners: { service: TcpServiceName; listener: Deno.Listener }[] = [];
  #open = new Set<Tracked>();
  #tasks = new Set<Promise<void>>();
  #sweeper?: ReturnType<typeof setInterval>;
  /** The coarse clock {@linkcode Tracked.lastActivityTick} reads: sweeps so far. */
  #tick = 0;
  /** Resolved (and replaced) whenever a connection closes: a descriptor is free again. */
  #closedOne = Promise.withResolvers<void>();
  #closed = false;
  #chargen = chargenPattern();

  private constructor(options: TcpServicesOptions, slots: ConnectionSlots) {
    this.#options = options;
    this.#slots = slots;
    const zero = zeroServiceTotals;
    this.totals = { echo: zero(), discard: zero(), chargen: zero(), "tls-echo": zero() };
  }

  /**
   * Binds every enabled service, or throws (closing what was bound) if one
   * cannot bind. Threads of one server pass the same `slots`, so the limits
   * hold for the whole server; without it this instance counts alone.
   */
  static start(options: TcpServicesOptions, slots?: ConnectionSlots): TcpServices {
    const services = new TcpServices(
      options,
      slots ?? new ConnectionSlots(ConnectionSlots.createBuffer(), {
        maxConnections: options.maxConnections,
        maxPerClient: options.maxConnectionsPerClient ?? 0,
      }),
    );
    // Read the key material before binding anything, so a wrong path starts nothing.
    const pem = options.tls ? readTlsFiles(options.tls) : undefined;
    const listenOptions = {
      tcpBacklog: options.backlog ?? DEFAULT_BACKLOG,
      reusePort: options.reusePort ?? false,
    };
    try {
      for (const service of ["echo", "discard", "chargen"] as const) {
        const port = options.ports[service];
        if (port === null) continue;
        let listener: Deno.TcpListener;
        try {
          listener = Deno.listen({
            hostname: options.host,
            port,
            transport: "tcp",
            ...listenOptions,
          });
        } catch (error) {
          throw new Error(
            `Cannot listen on "${options.host}:${port}" for ${service}: ${
              (error as Error).message
            }`,
          );
        }
        services.#listeners.push({ service, listener });
        services.bound.push({ service, host: options.host, port: listener.addr.port });
      }
      if (options.tls && pem) {
        services.#listenTls(options.host, options.tls.port, pem, listenOptions);
      }
    } catch (error) {
      for (const { listener } of services.#listeners) listener.close();
      throw error;
    }
    for (const { service, listener } of services.#listeners) {
      services.#track(services.#acceptLoop(service, listener));
    }
    if (options.idleTimeoutMs > 0) {
      const everyMs = Math.max(10, Math.min(1000, options.idleTimeoutMs / 4));
      const idleTicks = Math.ceil(options.idleTimeoutMs / everyMs);
      services.#sweeper = setInterval(() => services.#sweepIdle(idleTicks), everyMs);
    }
    return services;
  }

  #listenTls(
    host: string,
    port: number,
    pem: { cert: string; key: string },
    listenOptions: { tcpBacklog: number; reusePort: boolean },
  ): void {
    let listener: Deno.TlsListener;
    try {
      listener = Deno.listenTls({ hostname: host, port, ...pem, ...listenOptions });
    } catch (error) {
      throw new Error(
        `Cannot listen on "${host}:${port}" for tls-echo: ${(error as Error).message}`,
      );
    }
    this.#listeners.push({ service: "tls-echo", listener });
    this.bound.push({ service: "tls-echo", host, port: listener.addr.port });
  }

  /** Connections open right now on this thread. */
  get openConnections(): number {
    return this.#open.size;
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  async #acceptLoop(service: TcpServiceName, listener: Deno.Listener): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        // A connection reset before it was accepted (ENOTCONN, ECONNABORTED)
        // is that client's problem: accept the next one at once. Only when
        // descriptors run out is there nothing to do but wait for one to
        // free (a connection closing), or a short while for other fds.
        if (outOfDescriptors(error)) {
          await Promise.race([this.#closedOne.promise, sleep(50)]);
        }
        continue;
      }
      const address = (conn.remoteAddr as Deno.NetAddr).hostname;
      const admitted = this.#slots.tryOpen(address);
      if (!admitted.ok) {
        this.totals[service].refused++;
        if (admitted.reason === "client-full") this.totals[service].refusedPerClient++;
        closeQuietly(conn);
        continue;
      }
      this.totals[service].connections++;
      const tracked: Tracked = {
        conn,
        service,
        lastActivityTick: this.#tick,
        idle: false,
        waitingOnReader: false,
      };
      this.#open.add(tracked);
      // Not awaited: each connection runs on its own; close() waits for #open to empty.
      this.#run(tracked, admitted.slot);
    }
  }

  /** Serves one connection to its end, then gives back its slot. One promise per connection. */
  async #run(tracked: Tracked, slot: Slot): Promise<void> {
    try {
      await this.#serve(tracked.service, tracked);
    } catch { /* peer resets are normal */ }
    this.#open.delete(tracked);
    closeQuietly(tracked.conn);
    this.#slots.release(slot);
    const freed = this.#closedOne;
    this.#closedOne = Promise.withResolvers<void>();
    freed.resolve();
  }

  #serve(service: TcpServiceName, tracked: Tracked): Promise<void> {
    if (service === "echo") return this.#echo(tracked);
    if (service === "tls-echo") return this.#tlsEcho(tracked);
    if (service === "discard") return this.#discard(tracked);
    return this.#generate(tracked);
  }

  async #tlsEcho(tracked: Tracked): Promise<void> {
    // The handshake runs here, not in the accept loop, so one slow client
    // cannot hold the others; the idle sweep bounds a stalled one.
    await (tracked.conn as Deno.TlsConn).handshake();
    tracked.lastActivityTick = this.#tick;
    await this.#echo(tracked);
  }

  async #echo(tracked: Tracked): Promise<void> {
    const { conn } = tracked;
    if (tracked.service === "echo") (conn as Deno.TcpConn).setNoDelay(true);
    const totals = this.totals[tracked.service];
    const buffer = new ReadBuffer(this.#options.bufferBytes);
    while (true) {
      const bytes = buffer.bytes;
      const n = await conn.read(bytes);
      if (n === null) return;
      totals.bytesReceived += n;
      // Most writes take everything at once; only a partial one needs a view.
      let offset = await conn.write(n === bytes.length ? bytes : bytes.subarray(0, n));
      while (offset < n) offset += await conn.write(bytes.subarray(offset, n));
      totals.bytesSent += n;
      tracked.lastActivityTick = this.#tick;
      buffer.sized(n);
    }
  }

  async #discard(tracked: Tracked): Promise<void> {
    const { conn } = tracked;
    const totals = this.totals.discard;
    const buffer = new ReadBuffer(this.#options.bufferBytes);
    while (true) {
      const n = await conn.read(buffer.bytes);
      if (n === null) return;
      totals.bytesReceived += n;
      tracked.lastActivityTick = this.#tick;
      buffer.sized(n);
    }
  }

  async #generate(tracked: Tracked): Promise<void> {
    const { conn } = tracked;
    const totals = this.totals.chargen;
    // Whatever the client sends is thrown away (RFC 864); its end of stream
    // ends the service.
    let clientClosed = false;
    const sink = (async () => {
      const buffer = new Uint8Array(4096);
      try {
        while (true) {
          const n = await conn.read(buffer);
          if (n === null) break;
          totals.bytesReceived += n;
        }
      } catch { /* reset: the write loop will notice */ }
      clientClosed = true;
    })();
    const pattern = this.#chargen;
    // A write may take part of what it is offered; the next one starts
    // where it stopped, so the stream stays the RFC's rotating pattern.
    let offset = 0;
    try {
      while (!clientClosed) {
        tracked.waitingOnReader = true;
        const n = await conn.write(pattern.subarray(offset, offset + CHARGEN_WRITE_BYTES));
        tracked.waitingOnReader = false;
        totals.bytesSent += n;
        offset = (offset + n) % CHARGEN_CYCLE_BYTES;
        tracked.lastActivityTick = this.#tick;
      }
    } finally {
      closeQuietly(conn);
      await sink;
    }
  }

  #sweepIdle(idleTicks: number): void {
    const tick = ++this.#tick;
    for (const tracked of this.#open) {
      if (tracked.waitingOnReader) tracked.lastActivityTick = tick;
      // More than idleTicks whole sweeps without progress: idle at least idleTimeoutMs.
      if (tick - tracked.lastActivityTick > idleTicks && !tracked.idle) {
        tracked.idle = true;
        this.totals[tracked.service].idleClosed++;
        closeQuietly(tracked.conn);
      }
    }
  }

  /** Stops accepting, closes every connection and waits for their tasks. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const { listener } of this.#listeners) closeQuietly(listener);
    for (const tracked of this.#open) closeQuietly(tracked.conn);
    await Promise.allSettled([...this.#tasks]);
    // Closed connections end their tasks within a turn or two of the event loop.
    while (this.#open.size > 0) await this.#closedOne.promise;
  }
}

/**
 * A connection's read buffer: {@linkcode INITIAL_BUFFER_BYTES} while reads
 * are small, four times larger each time a read fills it (up to `maxBytes`),
 * back to the start after a long run of small reads.
 */
export class ReadBuffer {
  readonly maxBytes: number;
  readonly initialBytes: number;
  /** Where the next read goes. */
  bytes: Uint8Array;
  #smallReads = 0;

  /** A buffer that never exceeds `maxBytes`. */
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
    this.initialBytes = Math.min(INITIAL_BUFFER_BYTES, maxBytes);
    this.bytes = new Uint8Array(this.initialBytes);
  }

  /** Adjusts the size for the next read after one that returned `n` bytes. */
  sized(n: number): void {
    const size = this.bytes.length;
    if (n === size) {
      this.#smallReads = 0;
      if (size < this.maxBytes) this.bytes = new Uint8Array(Math.min(this.maxBytes, size * 4));
    } else if (size > this.initialBytes && n <= size >>> 4) {
      if (++this.#smallReads >= SMALL_READS_BEFORE_SHRINK) {
        this.#smallReads = 0;
        this.bytes = new Uint8Array(this.initialBytes);
      }
    } else {
      this.#smallReads = 0;
    }
  }
}

/** Whether an accept failed because the process or system ran out of file descriptors. */
function outOfDescriptors(error: unknown): boolean {
  const message = (error as Error)?.message ?? "";
  return /os error 2[34]\b|too many open files/i.test(message);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads the PEM certificate chain and key named by the TLS options. */
function readTlsFiles(tls: TlsEchoOptions): { cert: string; key: string } {
  const read = (path: string, what: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch (error) {
      throw new Error(`Cannot read TLS ${what} file "${path}": ${(error as Error).message}`);
    }
  };
  return { cert: read(tls.certFile, "certificate"), key: read(tls.keyFile, "key") };
}

/** Closes a resource that may already be closed. */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch { /* already closed */ }
}
