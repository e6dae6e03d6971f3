/**
 * The echoes `netspeed serve` runs through libc (Linux, FFI), each until
 * SIGINT/SIGTERM, then printing what it did: `--busy-poll` (a thread
 * spinning per connection) and `--engine ffi` (epoll).
 *
 * @module
 */
import { ExitCode, type ExitCodeValue } from "../errors.ts";
import { onInterrupt } from "../signals.ts";
import { assertFfiAllowed } from "../engine/libc.ts";
import { formatHostPort } from "../units.ts";
import { EpollEcho, type EpollEchoOptions } from "../server/epoll_echo.ts";
import { formatServeTotals } from "../server/totals_table.ts";
import {
  BusyPollEcho,
  type BusyPollEchoOptions,
  formatBusyPollTotals,
} from "../server/busy_poll_echo.ts";

/**
 * Starts an echo with the signals already caught (once a client can reach
 * it, stopping must print its totals, as in `serve`), announces it, and on
 * SIGINT/SIGTERM stops it and prints what it did.
 */
async function serveUntilSignal<Echo>(
  start: () => Echo,
  announce: (echo: Echo) => void,
  stop: (echo: Echo) => Promise<string>,
): Promise<ExitCodeValue> {
  const { promise: stopped, resolve } = Promise.withResolvers<Deno.Signal>();
  const removeListeners = onInterrupt(resolve);
  let echo: Echo;
  try {
    echo = start();
  } catch (error) {
    removeListeners();
    throw error;
  }
  announce(echo);
  const signal = await stopped;
  removeListeners();
  const totals = await stop(echo);
  console.log(`\nStopped by ${signal}.`);
  console.log(totals);
  return ExitCode.ok;
}

/** Runs the busy-polling echo until a signal arrives; resolves with the exit code. */
export function serveBusyPoll(options: BusyPollEchoOptions): Promise<ExitCodeValue> {
  assertFfiAllowed("--busy-poll");
  return serveUntilSignal(
    () => BusyPollEcho.start(options),
    (echo) =>
      console.log(
        `echo listening on ${
          formatHostPort(echo)
        } (tcp, busy-poll: up to ${options.threads} connection${
          options.threads === 1 ? "" : "s"
        } at once, each spinning on a full core)`,
      ),
    async (echo) => {
      await echo.close();
      return formatBusyPollTotals(echo.totals);
    },
  );
}

/**
 * Runs the epoll echo until a signal arrives; resolves with the exit code.
 * `othersAsked`: discard or chargen were left on, which this echo does not
 * serve, and the listening lines say so.
 */
export function serveEpoll(
  options: EpollEchoOptions,
  othersAsked: boolean,
): Promise<ExitCodeValue> {
  assertFfiAllowed("--engine ffi");
  return serveUntilSignal(
    () => EpollEcho.start(options),
    (echo) => {
      console.log(`echo listening on ${formatHostPort(echo)} (tcp)`);
      console.log(`threads: ${options.threads}, engine ffi (libc's epoll through FFI)`);
      if (othersAsked) console.log("Note: --engine ffi serves echo only: no discard, no chargen");
    },
    async (echo) => formatServeTotals({ echo: await echo.close() }, ["echo"]),
  );
}
