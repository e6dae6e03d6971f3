/**
 * Shared test fixtures: run the CLI as a child process, start `serve` on a
 * free loopback port, read CSV files back. Everything is real: processes,
 * sockets and files.
 *
 * @module
 */
import net from "node:net";
import { parse } from "csv-parse/sync";
import type { ServeFlags } from "../lib/cli/serve.ts";

const ROOT = new URL("../", import.meta.url);

/** Absolute path of the repository root. */
export const ROOT_DIR = decodeURIComponent(ROOT.pathname);

/** The flags `deno task netspeed` runs with, so tests see what users see. */
export const RUN_FLAGS = [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
  "--allow-env",
  "--allow-ffi",
];

/**
 * The socket engines every end-to-end test of `latency` and `connect` runs
 * with: the default one everywhere, the FFI one where it exists (Linux).
 */
export const ENGINES: readonly ("deno" | "ffi")[] = Deno.build.os === "linux"
  ? ["deno", "ffi"]
  : ["deno"];

/**
 * The engines `serve`'s end-to-end tests of its echo run with (`--engine`):
 * the default one everywhere, the epoll one where it exists (Linux).
 */
export const SERVE_ENGINES = ENGINES;

/** Output of a finished CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `netspeed ARGS` to completion (bounded by `timeoutMs`), with `env` added. */
export async function runCli(
  args: string[],
  timeoutMs = 60_000,
  env: Record<string, string> = {},
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, "main.ts", ...args],
    cwd: ROOT_DIR,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1", ...env },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** A CLI process running in the background, such as `serve`. */
export interface RunningCli extends AsyncDisposable {
  process: Deno.ChildProcess;
  /** Lines printed so far on stdout. */
  lines: string[];
  /** Waits for a stdout line matching `pattern` (bounded by `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends a signal and waits for the exit; resolves with the output. */
  stop(signal?: Deno.Signal): Promise<CliResult>;
  /** Waits for the process to exit by itself (killed after `timeoutMs`). */
  wait(timeoutMs?: number): Promise<CliResult>;
}

/** Starts `netspeed ARGS` and keeps reading its stdout line by line. */
export function spawnCli(args: string[], extraFlags: string[] = []): RunningCli {
  const process = new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, ...extraFlags, "main.ts", ...args],
    cwd: ROOT_DIR,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  const stderrText = new Response(process.stderr).text();
  const stdoutDone = (async () => {
    let rest = "";
    for await (const chunk of process.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
      for (const wake of waiters.splice(0)) wake();
    }
    if (rest) lines.push(rest);
    for (const wake of waiters.splice(0)) wake();
  })();
  let finished: Promise<CliResult> | undefined;
  const finish = () =>
    finished ??= (async () => {
      const status = await process.status;
      await stdoutDone;
      return { code: status.code, stdout: lines.join("\n"), stderr: await stderrText };
    })();
  return {
    process,
    lines,
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        for (const line of lines) {
          const match = line.match(pattern);
          if (match) return match;
        }
        if (Date.now() > deadline) {
          throw new Error(
            `No line matching ${pattern} within ${timeoutMs} ms: ${lines.join(" | ")}`,
          );
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    async wait(timeoutMs = 30_000) {
      const timer = setTimeout(() => {
        try {
          process.kill("SIGKILL");
        } catch { /* already gone */ }
      }, timeoutMs);
      try {
        return await finish();
      } finally {
        clearTimeout(timer);
      }
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch { /* already gone */ }
      return await finish();
    },
    async [Symbol.asyncDispose]() {
      try {
        process.kill("SIGKILL");
      } catch { /* already gone */ }
      await finish();
    },
  };
}

/** Starts `netspeed serve` with the echo service on a free port; resolves once it listens. */
export async function startServe(
  extraArgs: string[] = [],
): Promise<RunningCli & { port: number }> {
  const server = spawnCli(["serve", "--port", "0", "--no-discard", "--no-chargen", ...extraArgs]);
  const match = await server.waitFor(/^echo listening on 127\.0\.0\.1:(\d+)/);
  return Object.assign(server, { port: Number(match[1]) });
}

/**
 * Waits until the CSV at `path` holds at least `rows` rows after its
 * header: a run's rows are on disk while it measures. Waiting for them,
 * rather than a fixed time, keeps a slow start on a loaded machine from
 * failing a test (bounded by `timeoutMs`).
 */
export async function waitForRows(path: string, rows: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await Deno.readTextFile(path).catch(() => "");
    if (text.split("\n").filter((l) => l !== "").length > rows) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${path} has fewer than ${rows} rows after ${timeoutMs} ms`);
}

/** Reads a CSV file into objects keyed by header. */
export async function readCsv(path: string): Promise<Record<string, string>[]> {
  return parse(await Deno.readTextFile(path), { columns: true, skip_empty_lines: true });
}

/**
 * How long after the last CSV row ended (its start plus `durationColumn`)
 * the JSON's measured window ends, in ms: what a count-based run's rate
 * divides by beyond the measuring.
 */
export function windowEndAfterLastRowMs(
  summary: { window: { originEpochMs: number; endEpochMs: number } },
  rows: Record<string, string>[],
  durationColumn: string,
): number {
  const lastEndUs = Math.max(...rows.map((r) => Number(r.start_us) + Number(r[durationColumn])));
  return summary.window.endEpochMs - (summary.window.originEpochMs + lastEndUs / 1000);
}

/** Exact percentile of sorted values, nearest-rank (as HdrHistogram defines it). */
export function nearestRank(sorted: number[], percent: number): number {
  const rank = Math.max(1, Math.ceil((percent / 100) * sorted.length));
  return sorted[rank - 1];
}

/** Closes a test's TCP server: its listener, the connections it holds, then waits for its accept loop. */
export async function closeServer(
  listener: Deno.Listener,
  conns: Iterable<Deno.Conn>,
  accepting: Promise<unknown>,
): Promise<void> {
  listener.close();
  for (const conn of conns) {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  await accepting;
}

/** A fresh temporary folder, removed when disposed. */
export async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "netspeed-test-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** A cell nobody notifies: `Atomics.wait` on it is a sleep with a fine timeout. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/** The last part of an `exact` hold, spun rather than slept: longer than a futex's late wake-up. */
const EXACT_SPIN_MS = 1;

/**
 * An echo server netspeed did not write, optionally holding each chunk
 * `delayMs`. Timers fire whole milliseconds late (a 5.5 ms timer takes
 * about 6.1), so `exact` sleeps in `Atomics.wait` (a futex with a fine
 * timeout) and spins only the last millisecond to the exact instant, since
 * the futex too wakes late by an amount that varies. It blocks the thread
 * while it holds a message: one connection at a time, in a process of its
 * own (tests/delay_echo_server.ts). `splitHoldMs` answers the first half
 * of each chunk at once and the rest that much later, so an echo's last
 * byte comes at least that long after its first.
 */
export async function nodeEchoServer(
  delayMs = 0,
  options: {
    corruptFromChunk?: number;
    /** Corrupt each chunk's last byte instead of its first (past an open-loop frame's header). */
    corruptLastByte?: boolean;
    host?: string;
    exact?: boolean;
    splitHoldMs?: number;
  } = {},
): Promise<AsyncDisposable & { port: number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let chunks = 0;
    socket.on("data", (chunk) => {
      // A faulty echo: from this chunk on, the first byte of each comes back changed.
      if (options.corruptFromChunk !== undefined && ++chunks >= options.corruptFromChunk) {
        chunk[options.corruptLastByte ? chunk.length - 1 : 0] ^= 0xff;
      }
      if (options.splitHoldMs !== undefined) {
        const half = chunk.length >> 1;
        socket.write(chunk.subarray(0, half));
        setTimeout(
          () => socket.writable && socket.write(chunk.subarray(half)),
          options.splitHoldMs,
        );
      } else if (delayMs === 0) {
        socket.write(chunk);
      } else if (!options.exact) {
        setTimeout(() => socket.writable && socket.write(chunk), delayMs);
      } else {
        // The futex wakes late by a varying amount (tens to hundreds of µs, more
        // for longer waits), which would blur the known delay: sleep until
        // shortly before the hold ends, then spin to the exact instant.
        const untilMs = performance.now() + delayMs;
        if (delayMs > EXACT_SPIN_MS) Atomics.wait(SLEEP_CELL, 0, 0, delayMs - EXACT_SPIN_MS);
        while (performance.now() < untilMs) { /* the last stretch, exactly */ }
        if (socket.writable) socket.write(chunk);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** `serve`'s flags as commander hands them over with no option given (host exposed). */
export const SERVE_FLAGS: ServeFlags = {
  host: "0.0.0.0",
  port: "7007",
  discardPort: "7009",
  chargenPort: "7019",
  echo: true,
  discard: true,
  chargen: true,
  maxConnections: "10000",
  idleTimeout: "60s",
  bufferSize: "65536",
  tlsPort: "7443",
};
