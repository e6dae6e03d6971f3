/**
 * `serve --busy-poll` end to end: a real server process spinning a thread
 * per connection, measured by real clients, stopped by a signal.
 */
import assert from "node:assert/strict";
import { parseServeBusyPollFlags, type ServeFlags } from "../lib/cli/serve.ts";
import { runCli, SERVE_FLAGS, spawnCli } from "./helpers.ts";

/** `serve --busy-poll` with one spinning thread on a free port, once it listens. */
async function startBusyPollServe() {
  const server = spawnCli(["serve", "--busy-poll", "--busy-poll-threads", "1", "--port", "0"]);
  try {
    const match = await server.waitFor(/^echo listening on 127\.0\.0\.1:(\d+) \(tcp, busy-poll/);
    return Object.assign(server, { port: Number(match[1]) });
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
}

Deno.test({
  name: "serve --busy-poll echoes, refuses connections beyond its threads and stops on SIGINT",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using server = await startBusyPollServe();
    const target = `127.0.0.1:${server.port}`;
    const ok = await runCli(["latency", target, "-n", "300", "--engine", "ffi"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /done 300, failed 0/);
    // Two at once: the second finds no thread to spin for it and is closed.
    const refused = await runCli(["latency", target, "-c", "2", "-n", "50", "--warmup", "0"]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stdout, /done 50, failed 1/);
    const stopped = await server.stop("SIGINT");
    assert.equal(stopped.code, 0, stopped.stderr);
    // Served: 310 round trips of the first run (10 warm-up), 50 of the second; 1 KiB each.
    assert.match(
      stopped.stdout,
      /echo \(busy-poll\): 2 connections, 1 refused \(no thread free to spin\), 368,640 bytes/,
    );
  },
});

/** Context switches of every thread of a process so far (Linux /proc). */
async function contextSwitches(pid: number): Promise<number> {
  let total = 0;
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    const status = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/status`);
    for (const m of status.matchAll(/ctxt_switches:\s+(\d+)/g)) total += Number(m[1]);
  }
  return total;
}

Deno.test({
  name: "serve --busy-poll sleeps while no connection comes",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using server = await startBusyPollServe();
    // An accept loop on a 1 ms timer woke the idle process about 480 times a second, enough
    // to slow a busy-poll client of another server on the same machine by 30%; waiting in
    // poll, it wakes about 20 times (the runtime's own threads included).
    const before = await contextSwitches(server.process.pid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const switches = await contextSwitches(server.process.pid) - before;
    assert.ok(switches < 150, `${switches} context switches in 1 s while idle`);
    const stopped = await server.stop("SIGINT");
    assert.equal(stopped.code, 0, stopped.stderr);
  },
});

for (
  const [args, message] of [
    [["--busy-poll", "--udp"], /Option --busy-poll serves TCP echo only/],
    [["--busy-poll", "--no-echo"], /Option --busy-poll serves echo/],
    [["--busy-poll-threads", "2"], /Option --busy-poll-threads "2" needs --busy-poll too/],
    [["--busy-poll", "--busy-poll-threads", "0"], /Invalid --busy-poll-threads "0"/],
  ] as const
) {
  Deno.test(`serve ${args.join(" ")} exits 2 with one line`, async () => {
    const result = await runCli(["serve", ...args]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, message);
  });
}

const BUSY_FLAGS: ServeFlags = { ...SERVE_FLAGS, host: "127.0.0.1", busyPoll: true };

Deno.test("parseServeBusyPollFlags() takes its bound from --threads or --busy-poll-threads", () => {
  assert.deepEqual(parseServeBusyPollFlags({ ...BUSY_FLAGS, threads: "3" }, "linux"), {
    threads: 3,
  });
  assert.deepEqual(parseServeBusyPollFlags({ ...BUSY_FLAGS, busyPollThreads: "2" }, "linux"), {
    threads: 2,
  });
  assert.deepEqual(
    parseServeBusyPollFlags({ ...BUSY_FLAGS, threads: "2", busyPollThreads: "2" }, "linux"),
    { threads: 2 },
  );
  assert.throws(
    () => parseServeBusyPollFlags({ ...BUSY_FLAGS, threads: "2", busyPollThreads: "3" }, "linux"),
    /Options --threads "2" and --busy-poll-threads "3" disagree/,
  );
  assert.throws(
    () => parseServeBusyPollFlags({ ...BUSY_FLAGS, threads: "0" }, "linux"),
    /Invalid --threads "0"/,
  );
});
