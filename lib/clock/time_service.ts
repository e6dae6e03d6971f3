/**
 * The time service of `serve --time-port`: each connection gets the
 * server's wall clock as one line, `<ms since the Unix epoch>\n`, with µs
 * decimals, and is closed. Clients of a fleet ask it before measuring, so
 * that `merge` can tell whose clock is off: the nodes' clocks cannot be
 * compared with each other, but each can be compared with the one server
 * they all measure against.
 *
 * @module
 */
import { sharedClockMs } from "../run_info.ts";

/** Formats the server's reply: the clock, then a newline. */
export function timeReply(nowEpochMs: number): string {
  return `${nowEpochMs.toFixed(3)}\n`;
}

/** A running time service; stop it with {@linkcode TimeService.close}. */
export class TimeService {
  readonly host: string;
  readonly port: number;
  /** Connections answered. */
  answered = 0;
  #listener: Deno.TcpListener;
  #loop: Promise<void>;

  private constructor(listener: Deno.TcpListener) {
    this.#listener = listener;
    this.host = listener.addr.hostname;
    this.port = listener.addr.port;
    this.#loop = this.#accept();
  }

  /** Listens on `host:port` (0 picks a free port); throws when it cannot bind. */
  static start(host: string, port: number): TimeService {
    try {
      return new TimeService(Deno.listen({ hostname: host, port }));
    } catch (error) {
      throw new Error(`Cannot listen on "${host}:${port}" for time: ${(error as Error).message}`);
    }
  }

  async #accept(): Promise<void> {
    const encoder = new TextEncoder();
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      // The clock is read at the last moment, just before the write.
      conn.write(encoder.encode(timeReply(sharedClockMs())))
        .then(() => this.answered++)
        .catch(() => {/* the client left */})
        .finally(() => {
          try {
            conn.close();
          } catch { /* already closed */ }
        });
    }
  }

  /** Stops listening. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    await this.#loop;
  }
}
