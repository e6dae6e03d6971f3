/**
 * Coordinated omission, shown on a server whose stalls are known: it stops
 * answering for 50 ms every second. The open loop keeps sending through a
 * stall and charges it to every message it held, so its corrected p99
 * shows the stall; the closed loop sends nothing while it waits, so only
 * the one round trip in flight per stall sees it, and its p99 does not.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeServer, runCli, tempDir } from "./helpers.ts";

const STALL_EVERY_MS = 1000;
const STALL_MS = 50;

/**
 * An echo server that, for the first STALL_MS of every STALL_EVERY_MS
 * (counted from its first connection), neither reads nor writes, like a
 * server in a garbage-collection pause.
 */
function stallingEchoServer(): AsyncDisposable & { port: number; stalls: () => number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let clockStart: number | undefined;
  let stalls = 0;
  const conns = new Set<Deno.Conn>();
  const stallLeftMs = () => {
    const phase = (performance.now() - clockStart!) % STALL_EVERY_MS;
    return phase < STALL_MS ? STALL_MS - phase : 0;
  };
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    const buffer = new Uint8Array(65536);
    try {
      while (true) {
        const wait = stallLeftMs();
        if (wait > 0) {
          stalls++;
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
        const n = await conn.read(buffer);
        if (n === null) break;
        const hold = stallLeftMs();
        if (hold > 0) {
          stalls++;
          await new Promise((resolve) => setTimeout(resolve, hold));
        }
        for (let offset = 0; offset < n;) offset += await conn.write(buffer.subarray(offset, n));
      }
    } catch { /* the client closed */ }
    conns.delete(conn);
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      clockStart ??= performance.now();
      serve(conn);
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    stalls: () => stalls,
    [Symbol.asyncDispose]: () => closeServer(listener, conns, accepting),
  };
}

Deno.test("the open loop's corrected p99 shows a 50 ms stall every second; the closed loop's does not", async () => {
  await using dir = await tempDir();
  await using server = stallingEchoServer();
  const target = `127.0.0.1:${server.port}`;
  const openJson = join(dir.path, "open.json");
  const closedJson = join(dir.path, "closed.json");

  const open = await runCli([
    "latency",
    target,
    ...["--rate", "2000/s", "-d", "3s", "--warmup", "0", "--json", openJson, "--no-progress"],
  ]);
  assert.equal(open.code, 0, open.stderr + open.stdout);
  const closed = await runCli([
    "latency",
    target,
    ...["-d", "3s", "--warmup", "0", "--json", closedJson, "--no-progress"],
  ]);
  assert.equal(closed.code, 0, closed.stderr + closed.stdout);
  assert.ok(server.stalls() > 0, "the server never stalled");

  const o = JSON.parse(await Deno.readTextFile(openJson));
  const c = JSON.parse(await Deno.readTextFile(closedJson));
  const ms = (us: number) => (us / 1000).toFixed(1);
  // Three stalls in 3 s hold 5% of the messages, for up to 50 ms each:
  // the slowest fifth of them, 1% of all, waited about 40 ms or more.
  assert.ok(o.rtt.p99Us >= 35_000, `open-loop corrected p99 ${ms(o.rtt.p99Us)} ms`);
  assert.ok(o.rate.ratio >= 0.95, `open loop kept ${o.rate.ratio} of its rate`);
  // The closed loop met the same stalls (its maximum shows one) …
  assert.ok(c.rtt.maxUs >= 30_000, `closed-loop max ${ms(c.rtt.maxUs)} ms`);
  // … but only one round trip per stall waited, so its p99 stays far below.
  assert.ok(c.rtt.p99Us < 10_000, `closed-loop p99 ${ms(c.rtt.p99Us)} ms`);
  assert.ok(c.rtt.p99Us * 4 < o.rtt.p99Us);
  assert.equal(o.mode, "open-loop");
  assert.equal(c.mode, "closed-loop");
});
