/**
 * netspeed's TCP services: echo (RFC 862), discard (RFC 863) and
 * character generator (RFC 864), sharing one connection limit, one idle
 * timeout and one shutdown. Each connection is an async task on one event
 * loop, so thousands of them cost no threads.
 *
 * Memory stays bounded per connection: echo reads at most `bufferBytes` and
 * does not read again until that data is written back, so a client that
 * never reads stalls its own connection (TCP flow control pushes back on
 * it) instead of growing the server.
 *
 * @module
 */

/** The TCP services `serve` can run. */
export type TcpServiceName = "echo" | "discard" | "chargen";

/** Options of {@linkcode startTcpServices}. */
export interface TcpServicesOptions {
  /** Address to bind. @default {"127.0.0.1"} */
  host: string;
  /** Port per service; `null` turns the service off, 0 lets the OS pick. */
  ports: Record<TcpServiceName, number | null>;
  /** Connections open at once across all services; more are closed at once. @default {10000} */
  maxConnections: number;
  /** A connection with no progress for this long is closed; 0 never. @default {60000} */
  idleTimeoutMs: number;
  /** Bytes buffered per connection (echo's read size and its whole backlog). @default {65536} */
  bufferBytes: number;
}

/** The defaults: loopback only, so exposing the server takes an explicit `--host`. */
export const DEFAULT_TCP_SERVICES_OPTIONS: Readonly<TcpServicesOptions> = Object.freeze({
  host: "127.0.0.1",
  ports: Object.freeze({ echo: 7007, discard: 7009, chargen: 7019 }),
  maxConnections: 10_000,
  idleTimeoutMs: 60_000,
  bufferBytes: 65_536,
});

/** Counters of one service since start. */
export interface ServiceTotals {
  /** Connections accepted and served. */
  connections: number;
  /** Connections closed at once because `maxConnections` were open. */
  refused: number;
  /** Connections closed for idling longer than `idleTimeoutMs`. */
  idleClosed: number;
  bytesReceived: number;
  bytesSent: number;
}

/** A bound service: where it listens. */
export interface BoundService {
  service: TcpServiceName;
  host: string;
  port: number;
}

interface Tracked {
  conn: Deno.TcpConn;
  lastActivityMs: number;
  idle: boolean;
}

/** One line per RFC 864: 72 printable characters, rotating by one each line. */
function chargenPattern(): Uint8Array {
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
  let text = "";
  for (let line = 0; line < 95; line++) {
    text += (printable + printable).slice(line, line + 72) + "\r\n";
  }
  // 95 lines make the full cycle; repeat it so one write moves ~64 KiB.
  return new TextEncoder().encode(text.repeat(9));
}

/** The running services; stop them with {@linkcode TcpServices.close}. */
export class TcpServices {
  readonly bound: BoundService[] = [];
  readonly totals: Record<TcpServiceName, ServiceTotals>;
  #options: TcpServicesOptions;
  #listeners: { service: TcpServiceName; listener: Deno.TcpListener }[] = [];
  #open = new Set<Tracked>();
  #tasks = new Set<Promise<void>>();
  #sweeper?: ReturnType<typeof setInterval>;
  #closed = false;
  #chargen = chargenPattern();

  private constructor(options: TcpServicesOptions) {
    this.#options = options;
    const zero = (): ServiceTotals => ({
      connections: 0,
      refused: 0,
      idleClosed: 0,
      bytesReceived: 0,
      bytesSent: 0,
    });
    this.totals = { echo: zero(), discard: zero(), chargen: zero() };
  }

  /** Binds every enabled service, or throws (closing what was bound) if one cannot bind. */
  static start(options: TcpServicesOptions): TcpServices {
    const services = new TcpServices(options);
    try {
      for (const service of ["echo", "discard", "chargen"] as const) {
        const port = options.ports[service];
        if (port === null) continue;
        let listener: Deno.TcpListener;
        try {
          listener = Deno.listen({ hostname: options.host, port, transport: "tcp" });
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
    } catch (error) {
      for (const { listener } of services.#listeners) listener.close();
      throw error;
    }
    for (const { service, listener } of services.#listeners) {
      services.#track(services.#acceptLoop(service, listener));
    }
    if (options.idleTimeoutMs > 0) {
      const everyMs = Math.max(10, Math.min(1000, options.idleTimeoutMs / 4));
      services.#sweeper = setInterval(() => services.#sweepIdle(), everyMs);
    }
    return services;
  }

  /** Connections open right now. */
  get openConnections(): number {
    return this.#open.size;
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  async #acceptLoop(service: TcpServiceName, listener: Deno.TcpListener): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        if (this.#closed) return;
        // EMFILE and friends: back off briefly rather than spin.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (this.#open.size >= this.#options.maxConnections) {
        this.totals[service].refused++;
        closeQuietly(conn);
        continue;
      }
      this.totals[service].connections++;
      const tracked: Tracked = { conn, lastActivityMs: performance.now(), idle: false };
      this.#open.add(tracked);
      this.#track(
        this.#serve(service, tracked).catch(() => {/* peer resets are normal */}).finally(() => {
          this.#open.delete(tracked);
          closeQuietly(conn);
        }),
      );
    }
  }

  #serve(service: TcpServiceName, tracked: Tracked): Promise<void> {
    if (service === "echo") return this.#echo(tracked);
    if (service === "discard") return this.#discard(tracked);
    return this.#generate(tracked);
  }

  async #echo(tracked: Tracked): Promise<void> {
    const { conn } = tracked;
    conn.setNoDelay(true);
    const totals = this.totals.echo;
    const buffer = new Uint8Array(this.#options.bufferBytes);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      totals.bytesReceived += n;
      tracked.lastActivityMs = performance.now();
      let offset = 0;
      while (offset < n) {
        offset += await conn.write(buffer.subarray(offset, n));
        tracked.lastActivityMs = performance.now();
      }
      totals.bytesSent += n;
    }
  }

  async #discard(tracked: Tracked): Promise<void> {
    const { conn } = tracked;
    const totals = this.totals.discard;
    const buffer = new Uint8Array(this.#options.bufferBytes);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      totals.bytesReceived += n;
      tracked.lastActivityMs = performance.now();
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
    try {
      while (!clientClosed) {
        const n = await conn.write(pattern);
        totals.bytesSent += n;
        tracked.lastActivityMs = performance.now();
      }
    } finally {
      closeQuietly(conn);
      await sink;
    }
  }

  #sweepIdle(): void {
    const deadline = performance.now() - this.#options.idleTimeoutMs;
    for (const tracked of this.#open) {
      if (tracked.lastActivityMs < deadline && !tracked.idle) {
        tracked.idle = true;
        const service = this.#serviceOf(tracked);
        if (service) this.totals[service].idleClosed++;
        closeQuietly(tracked.conn);
      }
    }
  }

  #serviceOf(tracked: Tracked): TcpServiceName | undefined {
    const port = tracked.conn.localAddr.port;
    return this.bound.find((b) => b.port === port)?.service;
  }

  /** Stops accepting, closes every connection and waits for their tasks. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const { listener } of this.#listeners) closeQuietly(listener);
    for (const tracked of this.#open) closeQuietly(tracked.conn);
    await Promise.allSettled([...this.#tasks]);
  }
}

/** Closes a resource that may already be closed. */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch { /* already closed */ }
}
