/**
 * Flags of `netspeed serve`, turned into {@linkcode ServeOptions}.
 *
 * @module
 */
import type { Register } from "./program.ts";
import { DEFAULT_SERVE_OPTIONS, serve, type ServeOptions } from "../commands/serve.ts";
import { parseDurationMs, parseInteger, parsePort, parseSizeBytes } from "../units.ts";

/** Raw flag values as commander hands them over. */
export interface ServeFlags {
  host: string;
  port: string;
  discardPort: string;
  chargenPort: string;
  echo: boolean;
  discard: boolean;
  chargen: boolean;
  maxConnections: string;
  idleTimeout: string;
  bufferSize: string;
}

/** Pure: validates raw flags into options. */
export function parseServeFlags(flags: ServeFlags): ServeOptions {
  const d = DEFAULT_SERVE_OPTIONS;
  return {
    host: flags.host,
    ports: {
      echo: flags.echo ? parsePort(flags.port, "--port", { allowZero: true }) : null,
      discard: flags.discard
        ? parsePort(flags.discardPort, "--discard-port", { allowZero: true })
        : null,
      chargen: flags.chargen
        ? parsePort(flags.chargenPort, "--chargen-port", { allowZero: true })
        : null,
    },
    maxConnections: parseInteger(flags.maxConnections, "--max-connections", { min: 1 }),
    idleTimeoutMs: parseDurationMs(flags.idleTimeout, "--idle-timeout", { allowZero: true }),
    bufferBytes: parseSizeBytes(flags.bufferSize, "--buffer-size", 1) ?? d.bufferBytes,
  };
}

export const registerServe: Register = (program, select) => {
  const d = DEFAULT_SERVE_OPTIONS;
  program
    .command("serve")
    .description("Run echo (RFC 862), discard (RFC 863) and chargen (RFC 864) servers")
    .option("--host <address>", "address to bind; anything but loopback exposes the server", d.host)
    .option("-p, --port <port>", "echo port (0 picks a free port)", String(d.ports.echo))
    .option("--discard-port <port>", "discard port (0 picks a free port)", String(d.ports.discard))
    .option("--chargen-port <port>", "chargen port (0 picks a free port)", String(d.ports.chargen))
    .option("--no-echo", "do not run the echo service")
    .option("--no-discard", "do not run the discard service")
    .option("--no-chargen", "do not run the chargen service")
    .option(
      "--max-connections <n>",
      "connections open at once; more are closed at once",
      String(d.maxConnections),
    )
    .option(
      "--idle-timeout <duration>",
      "close connections idle this long (0: never)",
      `${d.idleTimeoutMs / 1000}s`,
    )
    .option("--buffer-size <bytes>", "bytes buffered per connection", String(d.bufferBytes))
    .action((flags: ServeFlags) => {
      const options = parseServeFlags(flags);
      select({ command: "serve", run: () => serve(options) });
    });
};
