/**
 * Flags every measuring command shares for runs on many nodes:
 * `--start-at TIME` (measure from one wall-clock instant on every node)
 * and `--node-id NAME` (which node a result came from after a merge).
 *
 * @module
 */
import type { Command } from "commander";
import { UsageError } from "../errors.ts";
import type { FleetOptions } from "../results/run_result.ts";
import { sharedClockMs } from "../run_info.ts";
import { parseDurationMs, parsePort } from "../units.ts";

/** `--start-at` may be at most this far ahead: further is surely a typo (a wrong day or zone). */
export const MAX_START_AHEAD_MS = 24 * 3600 * 1000;

/** Raw values of the shared flags. */
export interface FleetFlags {
  json?: string;
  startAt?: string;
  nodeId?: string;
  timePort?: string;
}

/** RFC 3339 date-time: a date, `T`, a time with optional fraction, and `Z` or an offset. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses `--start-at`: an RFC 3339 instant (`2026-12-01T10:00:00Z`) or a
 * delay from `nowEpochMs` (`+10s`). An instant in the past is accepted
 * (the run starts at once and records its lateness); one more than a day
 * ahead is a usage error.
 */
export function parseStartAt(text: string, nowEpochMs: number): number {
  const value = text.trim();
  let epochMs: number;
  if (value.startsWith("+")) {
    epochMs = nowEpochMs + parseDurationMs(value.slice(1), "--start-at", { allowZero: true });
  } else {
    epochMs = RFC3339.test(value) ? Date.parse(value.replace(" ", "T")) : NaN;
    if (!Number.isFinite(epochMs)) {
      throw new UsageError(
        `Invalid --start-at "${text}": expected an RFC 3339 time such as 2026-12-01T10:00:00Z, or a delay such as +10s`,
      );
    }
  }
  if (epochMs - nowEpochMs > MAX_START_AHEAD_MS) {
    throw new UsageError(
      `Invalid --start-at "${text}": it is more than a day ahead (${
        new Date(epochMs).toISOString()
      }); check the date and the time zone`,
    );
  }
  return epochMs;
}

/** Longest `--node-id`: a DNS name's length. */
const MAX_NODE_ID_LENGTH = 253;

/** Checks `--node-id`: printable, one line, not empty, at most 253 characters. */
export function parseNodeId(text: string): string {
  // deno-lint-ignore no-control-regex
  if (text.trim() === "" || text.length > MAX_NODE_ID_LENGTH || /[\x00-\x1f\x7f]/.test(text)) {
    throw new UsageError(
      `Invalid --node-id "${text}": expected a printable name of 1 to ${MAX_NODE_ID_LENGTH} characters`,
    );
  }
  return text;
}

/** Pure: the shared options from their raw flags. */
export function parseFleetFlags(flags: FleetFlags, nowEpochMs = sharedClockMs()): FleetOptions {
  return {
    ...(flags.nodeId === undefined ? {} : { nodeId: parseNodeId(flags.nodeId) }),
    ...(flags.startAt === undefined
      ? {}
      : { startAtEpochMs: parseStartAt(flags.startAt, nowEpochMs) }),
    ...(flags.timePort === undefined ? {} : { timePort: parsePort(flags.timePort, "--time-port") }),
  };
}

/** Adds `--start-at`, `--node-id`, `--time-port` and the `--json` that takes `-` to a measuring command. */
export function addFleetFlags(command: Command): Command {
  return command
    .option("--json <file>", 'write the summary with options and versions ("-": stdout, one line)')
    .option(
      "--start-at <time>",
      "connect and warm up, then start measuring at this instant: RFC 3339 (2026-12-01T10:00:00Z) or a delay (+10s)",
    )
    .option(
      "--node-id <name>",
      "name of this node in the JSON and after a merge (default: host name)",
    )
    .option(
      "--time-port <port>",
      "first ask serve --time-port on the target's host for its clock, so that merge can tell skewed nodes",
    );
}
