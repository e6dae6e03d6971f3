/**
 * Echo over UDP (RFC 862's UDP service): each datagram is sent back to
 * where it came from. A UDP server answers addresses it cannot verify, so
 * a forged source address would turn it into a reflector aimed at a third
 * party; this one limits the harm: it binds loopback unless told
 * otherwise, answers only datagrams up to a bounded size (an echo never
 * amplifies, and big ones are dropped unanswered) and at most a bounded
 * number per second over all sources and, optionally, from any one source
 * address (token buckets; the rest are dropped and counted), so one sender
 * cannot take the whole budget.
 *
 * @module
 */

/** Options of {@linkcode UdpEcho.start}. */
export interface UdpEchoOptions {
  /** Address to bind. @default {"127.0.0.1"} */
  host: string;
  /** Port; 0 lets the OS pick. */
  port: number;
  /** Largest datagram answered; larger ones are dropped. @default {2048} */
  maxDatagramBytes: number;
  /** Datagrams answered per second over all sources; more are dropped. @default {20000} */
  maxPerSec: number;
  /** Datagrams answered per second from one source address; 0: no such limit. @default {0} */
  maxPerSourcePerSec?: number;
}

/** The defaults: loopback only, small datagrams, a bounded rate. */
export const DEFAULT_UDP_ECHO_OPTIONS: Readonly<Omit<UdpEchoOptions, "port">> = Object.freeze({
  host: "127.0.0.1",
  maxDatagramBytes: 2048,
  maxPerSec: 20_000,
  maxPerSourcePerSec: 0,
});

/**
 * Source addresses whose buckets are remembered at once: memory stays
 * bounded under a flood of forged sources; when full, the least recently
 * added are forgotten (and start again with a full bucket).
 */
const MAX_TRACKED_SOURCES = 65_536;

/** Counters since start. */
export interface UdpEchoTotals {
  received: number;
  echoed: number;
  /** Dropped for being larger than `maxDatagramBytes`. */
  droppedTooBig: number;
  /** Dropped because the rate limit was reached. */
  droppedRateLimit: number;
  /** Dropped because their source address reached `maxPerSourcePerSec`. */
  droppedSourceLimit: number;
  bytesEchoed: number;
}

/**
 * A token bucket: `ratePerSec` tokens a second, holding at most `burst`.
 * Pure apart from the time it is given, so tests drive it with any clock.
 */
export class TokenBucket {
  readonly ratePerSec: number;
  readonly burst: number;
  #tokens: number;
  #lastMs: number;

  /** Starts full at `nowMs`. */
  constructor(ratePerSec: number, burst: number, nowMs: number) {
    this.ratePerSec = ratePerSec;
    this.burst = Math.max(1, burst);
    this.#tokens = this.burst;
    this.#lastMs = nowMs;
  }

  /** Takes a token at `nowMs` if there is one. */
  take(nowMs: number): boolean {
    if (nowMs > this.#lastMs) {
      this.#tokens = Math.min(
        this.burst,
        this.#tokens + (nowMs - this.#lastMs) * this.ratePerSec / 1000,
      );
      this.#lastMs = nowMs;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** A tenth of a second's worth of datagrams may come at once. */
const BURST_SECONDS = 0.1;

/** The running UDP echo; stop it with {@linkcode UdpEcho.close}. */
export class UdpEcho {
  readonly host: string;
  readonly port: number;
  readonly totals: UdpEchoTotals = {
    received: 0,
    echoed: 0,
    droppedTooBig: 0,
    droppedRateLimit: 0,
    droppedSourceLimit: 0,
    bytesEchoed: 0,
  };
  #socket: Deno.DatagramConn;
  #options: UdpEchoOptions;
  #closed = false;
  #loop: Promise<void>;

  private constructor(socket: Deno.DatagramConn, options: UdpEchoOptions) {
    this.#socket = socket;
    this.#options = options;
    const addr = socket.addr as Deno.NetAddr;
    this.host = addr.hostname;
    this.port = addr.port;
    this.#loop = this.#serve();
  }

  /** Binds and starts answering, or throws a one-line message if it cannot bind. */
  static start(options: UdpEchoOptions): UdpEcho {
    let socket: Deno.DatagramConn;
    try {
      socket = Deno.listenDatagram({
        hostname: options.host,
        port: options.port,
        transport: "udp",
      });
    } catch (error) {
      throw new Error(
        `Cannot listen on "${options.host}:${options.port}" for udp-echo: ${
          (error as Error).message
        }`,
      );
    }
    return new UdpEcho(socket, options);
  }

  async #serve(): Promise<void> {
    const { maxDatagramBytes, maxPerSec } = this.#options;
    const bucket = new TokenBucket(maxPerSec, maxPerSec * BURST_SECONDS, performance.now());
    const perSource = this.#options.maxPerSourcePerSec ?? 0;
    const sources = new Map<string, TokenBucket>();
    // One byte more than the limit: a datagram that fills it was larger.
    const buffer = new Uint8Array(maxDatagramBytes + 1);
    while (!this.#closed) {
      let data: Uint8Array;
      let from: Deno.Addr;
      try {
        [data, from] = await this.#socket.receive(buffer);
      } catch {
        if (this.#closed) return;
        // ICMP port unreachable from an earlier reply surfaces here on some systems.
        continue;
      }
      this.totals.received++;
      if (data.length > maxDatagramBytes) {
        this.totals.droppedTooBig++;
        continue;
      }
      const nowMs = performance.now();
      if (perSource > 0) {
        const source = (from as Deno.NetAddr).hostname;
        let own = sources.get(source);
        if (!own) {
          if (sources.size >= MAX_TRACKED_SOURCES) sources.delete(sources.keys().next().value!);
          own = new TokenBucket(perSource, perSource * BURST_SECONDS, nowMs);
          sources.set(source, own);
        }
        if (!own.take(nowMs)) {
          this.totals.droppedSourceLimit++;
          continue;
        }
      }
      if (!bucket.take(nowMs)) {
        this.totals.droppedRateLimit++;
        continue;
      }
      try {
        await this.#socket.send(data, from);
        this.totals.echoed++;
        this.totals.bytesEchoed += data.length;
      } catch {
        if (this.#closed) return;
      }
    }
  }

  /** Stops answering and releases the port. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket.close();
    } catch { /* already closed */ }
    await this.#loop;
  }
}
