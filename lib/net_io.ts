/**
 * Socket helpers shared by every client: connect with a time limit, write
 * a whole buffer, read an exact number of bytes, and name a failure.
 *
 * @module
 */
import type { ErrorKind } from "./worker_protocol.ts";

/** Thrown by {@linkcode readExactly} when the peer closed before sending enough. */
export class PeerClosedError extends Error {
  override name = "PeerClosedError";
}

/** Thrown when an echo differs from what was sent. */
export class MismatchError extends Error {
  override name = "MismatchError";
}

/** Thrown by our own time limits (connect or round trip). */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * Thrown for a round trip still waiting when the measured phase ended: it
 * is neither a success nor a failure, and is not recorded.
 */
export class PastDeadlineError extends Error {
  override name = "PastDeadlineError";
}

/** A failure a socket reported to the FFI engine, already named as CSV files name it. */
export class SocketError extends Error {
  override name = "SocketError";
  /** The kind of failure. */
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Opens a TCP connection with TCP_NODELAY, giving up after `timeoutMs`. */
export async function connectTcp(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<Deno.TcpConn> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const conn = await Deno.connect({ hostname: host, port, transport: "tcp", signal });
    conn.setNoDelay(true);
    return conn;
  } catch (error) {
    if (signal.aborted) throw new TimeoutError(`no answer within ${timeoutMs} ms`);
    throw error;
  }
}

/** Writes all of `bytes` (a stream write may take fewer). */
export async function writeAll(
  conn: Pick<Deno.Conn, "write">,
  bytes: Uint8Array,
): Promise<void> {
  let offset = await conn.write(bytes);
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

/** Fills `buffer` completely (a stream read may return less). */
export async function readExactly(
  conn: Pick<Deno.Conn, "read">,
  buffer: Uint8Array,
): Promise<void> {
  let filled = 0;
  while (filled < buffer.length) {
    const n = await conn.read(filled === 0 ? buffer : buffer.subarray(filled));
    if (n === null) throw new PeerClosedError("connection closed by the peer");
    filled += n;
  }
}

/** Names the failure as CSV files and summaries count it. */
export function classifyError(error: unknown): ErrorKind {
  if (error instanceof TimeoutError) return "timeout";
  if (error instanceof SocketError) return error.kind;
  if (error instanceof MismatchError) return "mismatch";
  if (error instanceof PeerClosedError) return "closed";
  if (error instanceof Deno.errors.ConnectionRefused) return "refused";
  if (
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe
  ) return "reset";
  if (error instanceof Deno.errors.TimedOut) return "timeout";
  if (
    error instanceof Deno.errors.NotFound || error instanceof Deno.errors.AddrNotAvailable ||
    error instanceof Deno.errors.NotConnected
  ) return "unreachable";
  const message = String((error as Error)?.message ?? error);
  if (/unreachable|no route|name or service not known|failed to lookup/i.test(message)) {
    return "unreachable";
  }
  return "other";
}

/**
 * The one-line error of a run that had no connection left to measure. A
 * failure only a connected stream can have (an echo that differed, a peer
 * that closed) came in the warm-up, and the line says so rather than
 * "Cannot connect".
 */
export function noConnectionMessage(target: string, kind: ErrorKind): string {
  const connected = kind === "mismatch" || kind === "closed";
  return connected
    ? `No connection to "${target}" got through the warm-up: ${describeErrorKind(kind)}`
    : `Cannot connect to "${target}": ${describeErrorKind(kind)}`;
}

/** Words for an error kind in one-line messages. */
export function describeErrorKind(kind: ErrorKind): string {
  return {
    refused: "connection refused",
    reset: "connection reset",
    timeout: "timed out",
    mismatch: "echo did not match what was sent",
    closed: "connection closed by the peer",
    unreachable: "host unreachable",
    other: "failed",
  }[kind];
}
