/**
 * Helpers for the benchmark scripts: free ports, background processes that
 * are always stopped, medians. Benchmarks compare against a peer measured
 * in the same run and print ratios; they assert nothing.
 *
 * @module
 */

/** A loopback port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Whether a program is on PATH. */
export async function have(program: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", `command -v ${program}`] }).output();
    return out.code === 0;
  } catch {
    return false;
  }
}

/** A background process killed on dispose. */
export function background(
  cmd: string,
  args: string[],
): AsyncDisposable & { process: Deno.ChildProcess } {
  const process = new Deno.Command(cmd, { args, stdout: "null", stderr: "null", stdin: "null" })
    .spawn();
  return {
    process,
    async [Symbol.asyncDispose]() {
      try {
        process.kill("SIGTERM");
      } catch { /* gone */ }
      await process.status;
    },
  };
}

/** Runs a command to completion, bounded by `timeoutMs`; returns stdout and stderr. */
export async function run(
  cmd: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Waits until a TCP port accepts connections (bounded). */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`Nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Median of a list (the mean of the middle two for even lengths). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The flags the netspeed tasks run with. */
export const NETSPEED = [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
  "--allow-env",
  "--allow-ffi",
  new URL("../main.ts", import.meta.url).pathname,
];

/**
 * Runs `measure` against a C accept loop (`connect_baseline serve`) on a
 * port of its own, stopped afterwards. Connect benchmarks take a fresh
 * port per run: the connections an earlier run left in TIME_WAIT (60 s)
 * then name another destination and do not lengthen this run's kernel
 * search for a free local port. Sharing one port made whichever client
 * ran later pay for the others (the C loop measured 41,900/s on a fresh
 * port, 22,300/s right after 10,000 connections to the same one).
 */
export async function onFreshAcceptLoop<T>(
  connectBaseline: string,
  measure: (port: number) => Promise<T>,
): Promise<T> {
  const port = freePort();
  await using _server = background(connectBaseline, ["serve", String(port)]);
  await waitForPort(port);
  return await measure(port);
}

/**
 * Runs `netspeed ARGS --json FILE --no-progress` and resolves with the
 * summary it wrote; throws with netspeed's own message when it failed.
 */
export async function netspeedSummary(
  args: string[],
  // deno-lint-ignore no-explicit-any
): Promise<Record<string, any>> {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const out = await run(Deno.execPath(), [...NETSPEED, ...args, "--json", json, "--no-progress"]);
    if (out.code !== 0) throw new Error(`netspeed ${args[0]} failed: ${out.stderr}`);
    return JSON.parse(await Deno.readTextFile(json));
  } finally {
    await Deno.remove(json);
  }
}

/**
 * Builds `scripts/<name>.c` with the C compiler into `dir`; resolves with
 * the binary's path, or undefined when there is no C compiler.
 */
export async function buildCProgram(name: string, dir: string): Promise<string | undefined> {
  const compiler = (await have("cc")) ? "cc" : (await have("gcc")) ? "gcc" : undefined;
  if (!compiler) return undefined;
  const binary = `${dir}/${name}`;
  const source = new URL(`./${name}.c`, import.meta.url).pathname;
  const out = await run(compiler, ["-O2", "-o", binary, source]);
  if (out.code !== 0) throw new Error(`Cannot build ${source}: ${out.stderr}`);
  return binary;
}
