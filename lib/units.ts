/**
 * Pure parsers for the values users type: sizes, durations, rates, counts
 * and `HOST:PORT` addresses. Each throws {@linkcode UsageError} with the
 * value quoted, so the CLI can print it as is.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/**
 * Parses a byte size such as `1024`, `64KiB`, `1k`, `1.5MiB`. Decimal
 * prefixes (k, M, G) are powers of 1000 and binary ones (KiB …) of 1024, as
 * in iperf3's and hyperfine's documentation.
 *
 * @example
 * ```ts
 * parseSizeBytes("64KiB", "--size"); // 65536
 * ```
 */
export function parseSizeBytes(text: string, flag: string, minBytes = 1): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const factor = match ? SIZE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new UsageError(
      `Invalid ${flag} "${text}": expected a size such as 1024, 64KiB or 1MB`,
    );
  }
  const bytes = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes < minBytes) {
    throw new UsageError(
      `Invalid ${flag} "${text}": must be at least ${minBytes} byte${minBytes === 1 ? "" : "s"}`,
    );
  }
  return bytes;
}

const DURATION_UNITS_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  "": 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
};

/**
 * Parses a duration such as `10s`, `500ms`, `2m`, `1h` or a bare number of
 * seconds, into milliseconds.
 *
 * @example
 * ```ts
 * parseDurationMs("1.5s", "--duration"); // 1500
 * ```
 */
export function parseDurationMs(
  text: string,
  flag: string,
  { allowZero = false }: { allowZero?: boolean } = {},
): number {
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const factor = match ? DURATION_UNITS_MS[match[2].toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new UsageError(
      `Invalid ${flag} "${text}": expected a duration such as 10s, 500ms or 2m`,
    );
  }
  const ms = Number(match[1]) * factor;
  if (!Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) {
    throw new UsageError(
      `Invalid ${flag} "${text}": must be ${allowZero ? "zero or more" : "more than zero"}`,
    );
  }
  return ms;
}

/**
 * Parses a whole number within bounds, rejecting `1x`, `2.5` and the like
 * that `parseInt` would quietly accept.
 */
export function parseInteger(
  text: string,
  flag: string,
  { min = 1, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  if (!/^\s*[-+]?\d+\s*$/.test(text)) {
    throw new UsageError(`Invalid ${flag} "${text}": expected a whole number`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`Invalid ${flag} "${text}": must be ${range}`);
  }
  return value;
}

/** Parses a TCP/UDP port number; 0 is allowed only where the OS picks a port. */
export function parsePort(text: string, flag: string, { allowZero = false } = {}): number {
  return parseInteger(text, flag, { min: allowZero ? 0 : 1, max: 65535 });
}

/**
 * Parses a rate such as `20000/s`, `20000`, `1.2k/s` or `600/min` into
 * events per second.
 */
export function parseRatePerSec(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(k|m)?\s*(?:\/\s*(s|sec|min|m|h))?\s*$/i.exec(text);
  if (!match) {
    throw new UsageError(`Invalid ${flag} "${text}": expected a rate such as 20000/s or 1.5k/s`);
  }
  const scale = { k: 1e3, m: 1e6 }[match[2]?.toLowerCase() as "k" | "m"] ?? 1;
  const per = { s: 1, sec: 1, min: 60, m: 60, h: 3600 }[
    (match[3] ?? "s").toLowerCase() as "s"
  ];
  const rate = Number(match[1]) * scale / per;
  if (!(rate > 0)) throw new UsageError(`Invalid ${flag} "${text}": must be more than zero`);
  return rate;
}

/** A network endpoint as typed by the user. */
export interface HostPort {
  /** Host name or IP address, without IPv6 brackets. */
  host: string;
  /** TCP or UDP port, 1–65535. */
  port: number;
}

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT`, or `HOST` alone when a default port is
 * given.
 *
 * @example
 * ```ts
 * parseHostPort("[::1]:7007"); // { host: "::1", port: 7007 }
 * ```
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  let host: string;
  let portText: string | undefined;
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
  } else {
    const colons = text.split(":").length - 1;
    if (colons > 1) {
      throw new UsageError(`Invalid address "${text}": write IPv6 addresses as [::1]:7007`);
    }
    const at = text.lastIndexOf(":");
    host = at < 0 ? text : text.slice(0, at);
    portText = at < 0 ? undefined : text.slice(at + 1);
  }
  if (host.trim() === "") throw new UsageError(`Invalid address "${text}": the host is missing`);
  if (portText === undefined) {
    if (defaultPort === undefined) {
      throw new UsageError(`Invalid address "${text}": expected HOST:PORT`);
    }
    return { host, port: defaultPort };
  }
  if (portText === "") throw new UsageError(`Invalid address "${text}": the port is missing`);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new UsageError(`Invalid address "${text}": the port must be a number from 1 to 65535`);
  }
  return { host, port };
}

/** Formats an endpoint back into the form users type (IPv6 in brackets). */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
