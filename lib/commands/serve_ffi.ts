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

/** Runs the busy-polling echo until a signal arrives; resolves with the exit code. */
export async function serveBusyPoll(options: BusyPollEchoOptions): Promise<ExitCodeValue> {
  assertFfiAllowed("--busy-poll");
  // Signals are caught before anything listens, as in `serve`.
  const { promise: stopped, resolve } = Promise.withResolvers<Deno.Signal>();
  const removeListeners = onInterrupt(resolve);
  let echo: BusyPollEcho;
  try {
    echo = BusyPollEcho.start(options);
  } catch (error) {
    removeListeners();
    throw error;
  }
  console.log(
    `echo listening on ${
      formatHostPort(echo)
    } (tcp, busy-poll: up to ${options.threads} connection${
      options.threads === 1 ? "" : "s"
    } at once, each spinning on a full core)`,
  );
  const signal = await stopped;
  removeListeners();
  await echo.close();
  console.log(`\nStopped by ${signal}.`);
  console.log(formatBusyPollTotals(echo.totals));
  return ExitCode.ok;
}

/**
 * Runs the epoll echo until a signal arrives; resolves with the exit code.
 * `othersAsked`: discard or chargen were left on, which this echo does not
 * serve, and the listening lines say so.
 */
export async function serveEpoll(
  options: EpollEchoOptions,
  othersAsked: boolean,
): Promise<ExitCodeValue> {
  assertFfiAllowed("--engine ffi");
  const { promise: stopped, resolve } = Promise.withResolvers<Deno.Signal>();
  const removeListeners = onInterrupt(resolve);
  let echo: EpollEcho;
  try {
    echo = EpollEcho.start(options);
  } catch (error) {
    removeListeners();
    throw error;
  }
  console.log(`echo listening on ${formatHostPort(echo)} (tcp)`);
  console.log(`threads: ${options.threads}, engine ffi (libc's epoll through FFI)`);
  if (othersAsked) console.log("Note: --engine ffi serves echo only: no discard, no chargen");
  const signal = await stopped;
  removeListeners();
  const totals = await echo.close();
  console.log(`\nStopped by ${signal}.`);
  console.log(formatServeTotals({ echo: totals }, ["echo"]));
  return ExitCode.ok;
}
