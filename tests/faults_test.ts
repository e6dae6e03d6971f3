/**
 * What happens when things go wrong: bad input, unreachable targets,
 * silent servers, a server killed mid-run, Ctrl-C. Nothing measured may be
 * lost, and the exit code must say what happened.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ENGINES,
  nodeEchoServer,
  readCsv,
  ROOT_DIR,
  runCli,
  spawnCli,
  startServe,
  tempDir,
  waitForRows,
} from "./helpers.ts";

/** A port with nothing listening: bind one, note it, close it. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

for (
  const args of [
    ["--bogus"],
    ["--size", "0"],
    ["--size", "1x"],
    ["--duration", "-1s"],
    ["--engine", "nonsense"],
    ["--busy-poll", "--udp"],
    ["--busy-poll", "--engine", "deno"],
  ]
) {
  Deno.test(`latency ${args.join(" ")} exits 2 with one line and starts nothing`, async () => {
    await using dir = await tempDir();
    const csvPath = join(dir.path, "never.csv");
    const result = await runCli(["latency", "127.0.0.1:7", ...args, "--csv", csvPath]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], /^netspeed: [A-Z].*\(see "netspeed latency --help"\)$/);
    // The line names what the user gave, never a value left unset.
    assert.doesNotMatch(lines[0], /undefined/);
    for (const flag of args.filter((arg) => arg.startsWith("--") && arg !== "--csv")) {
      assert.match(lines[0], new RegExp(flag), `"${flag}" is not named: ${lines[0]}`);
    }
    await assert.rejects(Deno.stat(csvPath), Deno.errors.NotFound);
  });
}

for (const target of ["127.0.0.1:70000", "127.0.0.1:", "127.0.0.1"]) {
  Deno.test(`latency ${target} is refused as bad input (exit 2)`, async () => {
    const result = await runCli(["latency", target]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      new RegExp(`^netspeed: Invalid address "${target.replaceAll(".", "\\.")}"`),
    );
  });
}

/** What can go wrong, run with every engine: the same behaviour is expected of each. */
for (const engine of ENGINES) {
  const engineArgs = ["--engine", engine];

  Deno.test(`latency --engine ${engine} to a closed port fails fast with a clear error and exit 1`, async () => {
    const port = closedPort();
    const started = performance.now();
    const result = await runCli([
      "latency",
      `127.0.0.1:${port}`,
      "--timeout",
      "2s",
      "-c",
      "2",
      ...engineArgs,
    ]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr.trim(),
      `netspeed: Cannot connect to "127.0.0.1:${port}": connection refused`,
    );
    assert.ok(performance.now() - started < 15_000);
  });

  Deno.test(`latency --engine ${engine} records a warm-up failure once per connection and says it came in the warm-up`, async () => {
    await using dir = await tempDir();
    // Echoes 3 messages right, then changes the first byte of each: the 4th warm-up round trip fails.
    await using server = await nodeEchoServer(0, { corruptFromChunk: 4 });
    const csvPath = join(dir.path, "warmup.csv");
    const result = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["-c", "2", "-n", "20", "--warmup", "10", "--csv", csvPath, "--no-progress"],
      ...engineArgs,
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(
      result.stderr.trim(),
      `netspeed: No connection to "127.0.0.1:${server.port}" got through the warm-up: echo did not match what was sent`,
    );
    // Nothing of the warm-up is kept but its failure: one row per connection, seq 0.
    const rows = await readCsv(csvPath);
    assert.deepEqual(
      rows.map((r) => [r.connection, r.seq, r.error]).sort(),
      [["0", "0", "mismatch"], ["1", "0", "mismatch"]],
    );
  });

  Deno.test(`latency --engine ${engine} to a server that never answers times out within --timeout and exits 1`, async () => {
    await using dir = await tempDir();
    // Accepts and reads, never writes back.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of listener) {
        held.push(conn);
        conn.readable.pipeTo(new WritableStream()).catch(() => {});
      }
    })();
    try {
      const csvPath = join(dir.path, "silent.csv");
      const started = performance.now();
      const result = await runCli([
        "latency",
        `127.0.0.1:${listener.addr.port}`,
        ...["-c", "2", "-n", "5", "--warmup", "0", "--timeout", "300ms", "--csv", csvPath],
        ...engineArgs,
      ]);
      const elapsedMs = performance.now() - started;
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stdout, /Failures by kind: timeout 2/);
      const rows = await readCsv(csvPath);
      assert.deepEqual(rows.map((r) => r.error), ["timeout", "timeout"]);
      assert.ok(elapsedMs < 10_000, `took ${elapsedMs} ms`);
    } finally {
      listener.close();
      for (const conn of held) {
        try {
          conn.close();
        } catch { /* closed by the client */ }
      }
      await accepting.catch(() => {});
    }
  });

  Deno.test(`latency --engine ${engine} keeps every row and exits 1 when the server is killed mid-run`, async () => {
    await using dir = await tempDir();
    const server = await startServe();
    const csvPath = join(dir.path, "killed.csv");
    const jsonPath = join(dir.path, "killed.json");
    await using client = spawnCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["-c", "3", "-d", "20s", "--csv", csvPath, "--json", jsonPath, "--timeout", "2s"],
      ...engineArgs,
    ]);
    await waitForRows(csvPath, 150);
    await server.stop("SIGKILL");
    const result = await client.wait(15_000);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /Failures by kind: /);
    const rows = await readCsv(csvPath);
    const ok = rows.filter((r) => r.error === "");
    const failed = rows.filter((r) => r.error !== "");
    assert.ok(ok.length > 100, `only ${ok.length} successful rows`);
    // Each of the 3 connections ends with exactly one failed attempt.
    assert.equal(failed.length, 3);
    for (const r of failed) assert.match(r.error, /^(reset|closed)$/);
    const summary = JSON.parse(await Deno.readTextFile(jsonPath));
    assert.equal(summary.done, ok.length);
    assert.equal(summary.failed, 3);
    assert.equal(summary.csv.rows, rows.length);
  });

  // Closed loop, and open loop (which the FFI engine keeps in a synchronous loop of its own).
  for (const mode of [[], ["--rate", "4000/s"]]) {
    Deno.test(`Ctrl-C stops latency --engine ${engine} ${mode.join(" ")}, keeps the CSV, prints the summary and exits 130`, async () => {
      await using dir = await tempDir();
      await using server = await startServe();
      const csvPath = join(dir.path, "interrupted.csv");
      const jsonPath = join(dir.path, "interrupted.json");
      await using client = spawnCli([
        "latency",
        `127.0.0.1:${server.port}`,
        ...["-w", "2", "-c", "2", "-d", "30s", "--csv", csvPath, "--json", jsonPath],
        ...mode,
        ...engineArgs,
      ]);
      await waitForRows(csvPath, 150);
      const stopSentPerf = performance.now();
      const result = await client.stop("SIGINT");
      // Wide bound: the run asked for 30 s; a stop that waited for its end would take that long.
      assert.ok(performance.now() - stopSentPerf < 10_000, "the stop waited for the run's end");
      assert.equal(result.code, 130, result.stderr);
      assert.match(result.stdout, /^(all|corrected) +[\d,]+ +0 /m);
      assert.match(result.stdout, /Warning: Interrupted/);
      const rows = await readCsv(csvPath);
      const summary = JSON.parse(await Deno.readTextFile(jsonPath));
      assert.equal(summary.interrupted, true);
      assert.ok(rows.length > 100);
      assert.equal(rows.length, summary.done + summary.failed);
      assert.ok(rows.every((r) => r.error === ""));
    });
  }

  Deno.test(`Ctrl-C in the warm-up of latency --engine ${engine} says nothing was measured, exit 130`, async () => {
    await using silent = silentServer();
    await using dir = await tempDir();
    const csvPath = join(dir.path, "warm-up.csv");
    const jsonPath = join(dir.path, "warm-up.json");
    // The first warm-up round trip waits for a reply that never comes.
    await using client = spawnCli([
      "latency",
      `127.0.0.1:${silent.port}`,
      ...["--warmup", "5", "-d", "30s", "--timeout", "60s", "--csv", csvPath, "--json", jsonPath],
      ...engineArgs,
    ]);
    // Stopped once the warm-up is under way, not after a fixed time a slow start could outlast.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = await Promise.race([
      silent.firstBytes.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 15_000)),
    ]);
    clearTimeout(timer);
    assert.ok(started, "no warm-up message within 15 s");
    const result = await client.stop("SIGINT");
    assert.equal(result.code, 130, result.stderr);
    assert.match(
      result.stdout,
      /Warning: Interrupted before measuring began .*nothing was measured/,
    );
    assert.doesNotMatch(result.stdout, /figures cover only what was measured/);
    const summary = JSON.parse(await Deno.readTextFile(jsonPath));
    assert.equal(summary.interrupted, true);
    assert.equal(summary.done + summary.failed, 0);
    assert.equal((await readCsv(csvPath)).length, 0);
  });

  Deno.test(`latency --engine ${engine} verification catches an echo that corrupts bytes`, async () => {
    await using dir = await tempDir();
    await using server = await nodeEchoServer(0, { corruptFromChunk: 30 });
    const csvPath = join(dir.path, "corrupt.csv");
    const result = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["-c", "2", "-n", "200", "--warmup", "0", "--csv", csvPath],
      ...engineArgs,
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /Failures by kind: mismatch 2/);
    const rows = await readCsv(csvPath);
    for (const connection of ["0", "1"]) {
      const own = rows.filter((r) => r.connection === connection);
      // Good echoes until the first bad one, which ends the connection.
      assert.equal(own.at(-1)?.error, "mismatch");
      assert.ok(own.slice(0, -1).every((r) => r.error === ""));
      assert.ok(own.length >= 2 && own.length <= 30, `${own.length} rows`);
    }
  });

  Deno.test(`latency --engine ${engine} measures over IPv6 loopback`, async () => {
    await using server = await nodeEchoServer(0, { host: "::1" });
    const result = await runCli([
      "latency",
      `[::1]:${server.port}`,
      ...["-c", "2", "-n", "50"],
      ...engineArgs,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /done 100, failed 0/);
  });
}

Deno.test("latency --busy-poll stops at --duration even when no reply ever comes", async () => {
  await using silent = silentServer();
  await using dir = await tempDir();
  const csvPath = join(dir.path, "busy.csv");
  const started = performance.now();
  // Warm-up would fail first: measure from the first message on.
  const result = await runCli([
    "latency",
    `127.0.0.1:${silent.port}`,
    ...["--busy-poll", "--warmup", "0", "-d", "1s", "--timeout", "20s", "--csv", csvPath],
  ]);
  const elapsedMs = performance.now() - started;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /full core per Worker/);
  assert.ok(elapsedMs < 10_000, `took ${elapsedMs} ms`);
  // The round trip in flight at the deadline is neither a success nor a failure.
  assert.equal((await readCsv(csvPath)).length, 0);
});

Deno.test("Ctrl-C stops latency --busy-poll even when no reply ever comes, exit 130", async () => {
  await using silent = silentServer();
  await using dir = await tempDir();
  const jsonPath = join(dir.path, "busy.json");
  await using client = spawnCli([
    "latency",
    `127.0.0.1:${silent.port}`,
    ...["--busy-poll", "--warmup", "0", "-d", "60s", "--timeout", "60s", "--json", jsonPath],
  ]);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const started = performance.now();
  const result = await client.stop("SIGINT");
  assert.ok(performance.now() - started < 5_000);
  assert.equal(result.code, 130, result.stderr);
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  assert.equal(summary.interrupted, true);
  assert.equal(summary.options.engine, "busy-poll");
});

/** A TCP server that accepts and reads but never writes back. */
function silentServer(): AsyncDisposable & { port: number; firstBytes: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const { promise: firstBytes, resolve: gotBytes } = Promise.withResolvers<void>();
  const accepting = (async () => {
    for await (const conn of listener) {
      held.push(conn);
      conn.readable.pipeTo(new WritableStream({ write: () => gotBytes() })).catch(() => {});
    }
  })();
  return {
    port: listener.addr.port,
    /** Resolves when a client has sent something: its first round trip has begun. */
    firstBytes,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of held) {
        try {
          conn.close();
        } catch { /* closed by the client */ }
      }
      await accepting.catch(() => {});
    },
  };
}

Deno.test({
  name: "latency --engine ffi without --allow-ffi exits 2 with one line and starts nothing",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "--allow-net", "--allow-read", "--allow-write", "--allow-sys", "--allow-env"],
        ...["main.ts", "latency", "127.0.0.1:7", "--engine", "ffi"],
      ],
      cwd: ROOT_DIR,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 2, stderr);
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(
      stderr,
      /^netspeed: Option --engine "ffi" calls libc through FFI: run with --allow-ffi/,
    );
  },
});
