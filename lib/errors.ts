/**
 * Error types that decide netspeed's exit code, so commands can throw and
 * `main.ts` alone turns the throw into one line on stderr.
 *
 * @module
 */

/** Exit codes, as documented in the README. */
export const ExitCode = {
  /** Everything planned was measured without a failed attempt. */
  ok: 0,
  /** The run could not start or some attempts failed (refused, reset, timeout …). */
  failed: 1,
  /** Bad flags or values: nothing was started. */
  usage: 2,
  /** Stopped by SIGINT/Ctrl-C after saving what was measured (128 + SIGINT). */
  interrupted: 130,
} as const;

/** The union of exit codes netspeed returns. */
export type ExitCodeValue = typeof ExitCode[keyof typeof ExitCode];

/** Bad input from the user; reported with a usage hint and exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A run that could not do its job (unreachable target, unreadable file): exit code 1. */
export class RunError extends Error {
  override name = "RunError";
}

/** The exit code of a measuring run: a stop by signal wins, then any failure. */
export function exitCodeOf(
  interrupted: boolean,
  failed: boolean,
): typeof ExitCode.ok | typeof ExitCode.failed | typeof ExitCode.interrupted {
  if (interrupted) return ExitCode.interrupted;
  return failed ? ExitCode.failed : ExitCode.ok;
}
