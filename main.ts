/**
 * netspeed's entry point: parse the command line, run one command, and
 * turn a thrown error into one line on stderr and an exit code.
 *
 * @module
 */
import { ExitCode, RunError, UsageError } from "./lib/errors.ts";
import { parseCommandLine } from "./lib/cli/program.ts";

/** Runs netspeed with `args`; resolves with the process exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const invocation = await parseCommandLine(args);
    return invocation ? await invocation.run() : ExitCode.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`netspeed: ${error.message}`);
      return ExitCode.usage;
    }
    if (error instanceof RunError) {
      console.error(`netspeed: ${error.message}`);
      return ExitCode.failed;
    }
    console.error(`netspeed: Unexpected error: ${(error as Error)?.stack ?? error}`);
    return ExitCode.failed;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
