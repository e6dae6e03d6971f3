/**
 * `netspeed serve --busy-poll`: runs the busy-polling echo until
 * SIGINT/SIGTERM, then prints what it did.
 *
 * @module
 */
import { ExitCode, type ExitCodeValue } from "../errors.ts";
import { onInterrupt } from "../signals.ts";
import { assertFfiAllowed } from "../engine/libc.ts";
import { formatHostPort } from "../units.ts";
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
