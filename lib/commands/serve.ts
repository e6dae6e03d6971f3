/**
 * `netspeed serve`: runs the echo, discard and chargen services (and,
 * with `--udp`, echo over UDP on the echo port's number) until
 * SIGINT/SIGTERM, then prints what they did.
 *
 * @module
 */
import { ExitCode, type ExitCodeValue, RunError } from "../errors.ts";
import { onInterrupt } from "../signals.ts";
import { formatCount } from "../table.ts";
import { formatHostPort } from "../units.ts";
import { DEFAULT_BACKLOG } from "../server/tcp_services.ts";
import {
  DEFAULT_SERVER_OPTIONS,
  type ServerOptions,
  type ServerUdpOptions,
  startServer,
} from "../server/server_thread.ts";
import { TimeService } from "../clock/time_service.ts";
import { serveBusyPoll, serveEpoll } from "./serve_ffi.ts";
import { formatServeTotals, formatUdpTotals } from "../server/totals_table.ts";

/** Echo over UDP as `serve` runs it: on the TCP echo port's number. */
export type ServeUdpOptions = ServerUdpOptions;

/** Options of `netspeed serve`: those of the in-process server, the time service and busy-poll. */
export type ServeOptions = ServerOptions & {
  /** Port of the time service (clients' `--time-port`); off when absent or `null`. @default {null} */
  timePort?: number | null;
  /**
   * Echo only, each connection on its own thread reading in a spin (Linux,
   * FFI), at most `threads` at once; off when absent or `null`. @default {null}
   */
  busyPoll?: { threads: number } | null;
  /**
   * "ffi": echo only, served through libc's epoll on `threads` threads
   * (Linux, FFI). @default {"deno"}
   */
  engine?: "deno" | "ffi";
};

/** The defaults of `netspeed serve`. */
export const DEFAULT_SERVE_OPTIONS: Readonly<ServeOptions> = DEFAULT_SERVER_OPTIONS;

/** Runs the services until a signal arrives; resolves with the exit code. */
export async function serve(options: ServeOptions): Promise<ExitCodeValue> {
  if (options.busyPoll) {
    return await serveBusyPoll({
      host: options.host,
      port: options.ports.echo ?? 0,
      threads: options.busyPoll.threads,
      bufferBytes: options.bufferBytes,
    });
  }
  if (options.engine === "ffi") {
    return await serveEpoll({
      host: options.host,
      port: options.ports.echo ?? 0,
      threads: options.threads,
      backlog: options.backlog ?? DEFAULT_BACKLOG,
      maxConnections: options.maxConnections,
      maxConnectionsPerClient: options.maxConnectionsPerClient ?? 0,
      idleTimeoutMs: options.idleTimeoutMs,
      bufferBytes: options.bufferBytes,
    }, options.ports.discard !== null || options.ports.chargen !== null);
  }
  // Signals are caught before anything listens: once a client can reach a
  // thread (any of them), stopping the server must already print totals.
  const { promise: stopped, resolve } = Promise.withResolvers<Deno.Signal>();
  const removeListeners = onInterrupt(resolve);
  let server;
  try {
    // The main thread only waits for a signal: it can run the first thread's services.
    server = await startServer({ ...options, firstThreadHere: true });
  } catch (error) {
    removeListeners();
    throw error;
  }
  for (const bound of server.bound) {
    const transport = bound.service === "tls-echo" ? "tls" : "tcp";
    console.log(`${bound.service} listening on ${formatHostPort(bound)} (${transport})`);
  }
  if (server.udp) console.log(`udp-echo listening on ${formatHostPort(server.udp)} (udp)`);
  console.log(`threads: ${server.threads}`);
  for (const note of server.notes) console.log(`Note: ${note}`);

  let time: TimeService | undefined;
  if (options.timePort != null) {
    try {
      time = TimeService.start(options.host, options.timePort);
    } catch (error) {
      removeListeners();
      await server.stop();
      throw new RunError((error as Error).message);
    }
    console.log(`time listening on ${formatHostPort(time)} (tcp)`);
  }

  const signal = await stopped;
  removeListeners();
  const totals = await server.stop();
  await time?.close();
  console.log(`\nStopped by ${signal}.`);
  console.log(formatServeTotals(totals.tcp, server.bound.map((b) => b.service)));
  if (totals.udp) console.log(formatUdpTotals(totals.udp));
  if (time) console.log(`time: ${formatCount(time.answered)} clock readings given`);
  return ExitCode.ok;
}
