/**
 * netspeed's TCP services: echo (RFC 862), discard (RFC 863),
 * character generator (RFC 864) and, given a certificate, echo over TLS,
 * sharing one connection limit, one idle timeout and one shutdown. Each connection is an async task on one event
 * loop, so thousands of them cost no threads.
 *
 * Memory stays bounded per connection: echo reads at most `bufferBytes` and
 * does not read again until that data is written back, so a client that
 * never reads stalls its own connection (TCP flow control pushes back on
 * it) instead of growing the server.
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
  tls: null,
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
  conn: Deno.Conn;
  service: TcpServiceName;
  lastActivityMs: number;
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
  #listeners: { service: TcpServiceName; listener: Deno.Listener }[] = [];
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
    this.totals = { echo: zero(), discard: zero(), chargen: zero(), "tls-echo": zero() };
  }

  /** Binds every enabled service, or throws (closing what was bound) if one cannot bind. */
  static start(options: TcpServicesOptions): TcpServices {
    const services = new TcpServices(options);
    // Read the key material before binding anything, so a wrong path starts nothing.
    const pem = options.tls ? readTlsFiles(options.tls) : undefined;
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
      if (options.tls && pem) services.#listenTls(options.host, options.tls.port, pem);
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

  #listenTls(host: string, port: number, pem: { cert: string; key: string }): void {
    let listener: Deno.TlsListener;
    try {
      listener = Deno.listenTls({ hostname: host, port, ...pem });
    } catch (error) {
      throw new Error(
        `Cannot listen on "${host}:${port}" for tls-echo: ${(error as Error).message}`,
      );
    }
    this.#listeners.push({ service: "tls-echo", listener });
    this.bound.push({ service: "tls-echo", host, port: listener.addr.port });
  }

  /** Connections open right now. */
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
      const tracked: Tracked = {
        conn,
        service,
        lastActivityMs: performance.now(),
        idle: false,
        waitingOnReader: false,
      };
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
    if (service === "tls-echo") return this.#tlsEcho(tracked);
    if (service === "discard") return this.#discard(tracked);
    return this.#generate(tracked);
  }

  async #tlsEcho(tracked: Tracked): Promise<void> {
    // The handshake runs here, not in the accept loop, so one slow client
    // cannot hold the others; the idle sweep bounds a stalled one.
    await (tracked.conn as Deno.TlsConn).handshake();
    tracked.lastActivityMs = performance.now();
    await this.#echo(tracked);
  }

  async #echo(tracked: Tracked): Promise<void> {
    const { conn } = tracked;
    if (tracked.service === "echo") (conn as Deno.TcpConn).setNoDelay(true);
    const totals = this.totals[tracked.service];
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
      if (tracked.waitingOnReader) tracked.lastActivityMs = performance.now();
      if (tracked.lastActivityMs < deadline && !tracked.idle) {
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
  }
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
