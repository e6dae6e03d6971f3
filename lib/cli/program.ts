/**
 * The command line: commander defines the subcommands and flags, each
 * `lib/cli/<command>.ts` turns raw flag values into that command's typed
 * options, and nothing runs until parsing succeeded, so bad input starts
 * nothing.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { type ExitCodeValue, UsageError } from "../errors.ts";
import { NETSPEED_VERSION } from "../run_info.ts";
import { registerServe } from "./serve.ts";
import { addFleetFlags } from "./fleet_flags.ts";
import { registerLatency } from "./latency.ts";
import { registerBench } from "./bench.ts";
import { registerThroughput } from "./throughput.ts";
import { registerConnect } from "./connect.ts";
import { registerReport } from "./report.ts";
import { registerMerge } from "./merge.ts";
import { registerResponsiveness } from "./responsiveness.ts";
import { registerAgent } from "./agent.ts";
import { registerCompare } from "./compare.ts";

/** A parsed command line, ready to run. */
export interface Invocation {
  /** The subcommand, for the usage hint. */
  command: string;
  run: () => Promise<ExitCodeValue>;
}

/** Each `register*` adds one subcommand and reports the parsed invocation to `select`. */
export type Register = (program: Command, select: (invocation: Invocation) => void) => void;

/** Commands that measure, and so take `--json`, `--start-at` and `--node-id`. */
const MEASURING_COMMANDS = ["latency", "throughput", "connect", "responsiveness"];

const REGISTERS: Register[] = [
  registerLatency,
  registerThroughput,
  registerConnect,
  registerResponsiveness,
  registerServe,
  registerBench,
  registerReport,
  registerMerge,
  registerAgent,
  registerCompare,
];

/** Builds the commander program (exposed for help-text tests). */
export function buildProgram(select: (invocation: Invocation) => void): Command {
  const program = new Command("netspeed")
    .description(
      "Network speed test: latency, throughput and connection set-up, every sample kept.",
    )
    .version(NETSPEED_VERSION, "-V, --version")
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  for (const register of REGISTERS) register(program, select);
  for (const command of program.commands) {
    if (MEASURING_COMMANDS.includes(command.name())) addFleetFlags(command);
  }
  for (const command of program.commands) {
    command.exitOverride().configureOutput({ outputError: () => {} }).allowExcessArguments(false);
  }
  return program;
}

/**
 * Parses `args`. Returns `undefined` when commander printed help or the
 * version; throws {@linkcode UsageError} with a one-line message (usage hint
 * included) for anything it cannot accept.
 */
export async function parseCommandLine(args: string[]): Promise<Invocation | undefined> {
  let invocation: Invocation | undefined;
  const program = buildProgram((parsed) => (invocation = parsed));
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" || error.code === "commander.version" ||
        error.code === "commander.help"
      ) return undefined;
      const command = args.find((arg) => program.commands.some((c) => c.name() === arg));
      throw new UsageError(`${commanderMessage(error.message)}${hint(command)}`);
    }
    if (error instanceof UsageError) {
      const command = args.find((arg) => program.commands.some((c) => c.name() === arg));
      throw new UsageError(`${error.message}${hint(command)}`);
    }
    throw error;
  }
  if (!invocation) {
    if (args.length === 0) {
      program.outputHelp();
      return undefined;
    }
    throw new UsageError(`Unknown command "${args[0]}"${hint(undefined)}`);
  }
  return invocation;
}

function hint(command: string | undefined): string {
  return ` (see "netspeed ${command ? command + " " : ""}--help")`;
}

/** Turns "error: unknown option '--x'" into "Unknown option \"--x\"". */
function commanderMessage(message: string): string {
  const text = message.replace(/^error:\s*/, "").replace(/'([^']*)'/g, '"$1"').replace(/\.$/, "");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
