/**
 * What can go wrong in a TCP open loop (`latency --rate`), run with every
 * engine: the same behaviour is expected of each (the FFI engine keeps its
 * schedule in a synchronous loop of its own, `lib/latency/open_loop_ffi.ts`).
 * Ctrl-C is in `faults_test.ts`, with the closed loop's.
 * Real sockets on 127.0.0.1, servers owned by the test.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeServer, ENGINES, readCsv, runCli, tempDir } from "./helpers.ts";

/**
 * A TCP server on 127.0.0.1 that accepts and then, per connection: echoes
 * (`echo`), closes after echoing `closeAfterBytes`, never reads (`silent`),
 * or stops reading for `pauseMs` once `pauseAfterBytes` came in.
 */
function faultyServer(
  behaviour:
    | { kind: "silent" }
    | { kind: "close"; closeAfterBytes: number }
    | { kind: "pause"; pauseAfterBytes: number; pauseMs: number },
): AsyncDisposable & { port: number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    if (behaviour.kind === "silent") return;
    const buffer = new Uint8Array(64 * 1024);
    let total = 0;
    let paused = false;
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) break;
        let bytes = buffer.subarray(0, n);
        if (behaviour.kind === "close" && total + n >= behaviour.closeAfterBytes) {
          bytes = bytes.subarray(0, behaviour.closeAfterBytes - total);
        }
        for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
        total += n;
        if (behaviour.kind === "close" && total >= behaviour.closeAfterBytes) break;
        if (behaviour.kind === "pause" && !paused && total >= behaviour.pauseAfterBytes) {
          paused = true;
          await new Promise((resolve) => setTimeout(resolve, behaviour.pauseMs));
        }
      }
    } catch { /* the client went away */ }
    conns.delete(conn);
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const accepting = (async () => {
    for await (const conn of listener) serve(conn);
  })().catch(() => {/* closed */});
  return {
    port: listener.addr.port,
    [Symbol.asyncDispose]: () => closeServer(listener, conns, accepting),
  };
}

for (const engine of ENGINES) {
  const engineArgs = ["--engine", engine, "--no-progress", "--warmup", "0"];

  Deno.test(`latency --rate --engine ${engine} to a server that never answers fails every message within --timeout`, async () => {
    await using dir = await tempDir();
    await using server = faultyServer({ kind: "silent" });
    const csvPath = join(dir.path, "silent.csv");
    const started = performance.now();
    const result = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["--rate", "500/s", "-n", "100", "-s", "100", "--timeout", "300ms", "--csv", csvPath],
      ...engineArgs,
    ]);
    const tookMs = performance.now() - started;
    assert.equal(result.code, 1, result.stderr + result.stdout);
    const rows = await readCsv(csvPath);
    // All 100 left within 0.2 s; none was answered, each failed at the time limit.
    assert.equal(rows.length, 100);
    assert.ok(rows.every((r) => r.error === "timeout"), JSON.stringify(rows[0]));
    assert.ok(tookMs < 10_000, `took ${tookMs} ms`);
  });

  Deno.test(`latency --rate --engine ${engine} keeps every row when the server closes mid-run`, async () => {
    await using dir = await tempDir();
    // 100-byte messages: the server answers 50 of them, then closes.
    await using server = faultyServer({ kind: "close", closeAfterBytes: 5_000 });
    const csvPath = join(dir.path, "closed.csv");
    const jsonPath = join(dir.path, "closed.json");
    const result = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["--rate", "500/s", "-n", "200", "-s", "100", "--csv", csvPath, "--json", jsonPath],
      ...engineArgs,
    ]);
    assert.equal(result.code, 1, result.stderr + result.stdout);
    const summary = JSON.parse(await Deno.readTextFile(jsonPath));
    const rows = await readCsv(csvPath);
    assert.equal(rows.length, summary.done + summary.failed);
    assert.equal(summary.done, 50);
    assert.ok(summary.failed >= 1);
    assert.ok(summary.errors.closed + summary.errors.reset === summary.failed, result.stdout);
    assert.ok(rows.slice(0, 50).every((r) => r.error === ""));
  });

  Deno.test(`latency --rate --engine ${engine} holds its writes while the server stops reading, and loses nothing`, async () => {
    await using dir = await tempDir();
    // 64 KiB at 500/s is 32 MB/s: a 300 ms pause backs up more than the socket buffers hold,
    // so the client's writes are held up, and every message still gets its answer.
    await using server = faultyServer({ kind: "pause", pauseAfterBytes: 3_000_000, pauseMs: 300 });
    const jsonPath = join(dir.path, "paused.json");
    const result = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["--rate", "500/s", "-n", "500", "-s", "65536", "--timeout", "5s", "--json", jsonPath],
      ...engineArgs,
    ]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const summary = JSON.parse(await Deno.readTextFile(jsonPath));
    assert.equal(summary.done, 500);
    assert.equal(summary.failed, 0);
    // The messages sent during the pause waited for it.
    assert.ok(summary.rtt.maxUs >= 200_000, `max ${summary.rtt.maxUs} µs`);
  });
}
