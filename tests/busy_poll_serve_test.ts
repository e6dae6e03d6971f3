/**
 * `serve --busy-poll` end to end: a real server process spinning a thread
 * per connection, measured by real clients, stopped by a signal.
 */
import assert from "node:assert/strict";
import { runCli, spawnCli } from "./helpers.ts";

Deno.test({
  name: "serve --busy-poll echoes, refuses connections beyond its threads and stops on SIGINT",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using server = spawnCli([
      "serve",
      ...["--busy-poll", "--busy-poll-threads", "1", "--port", "0"],
    ]);
    const match = await server.waitFor(/^echo listening on 127\.0\.0\.1:(\d+) \(tcp, busy-poll/);
    const target = `127.0.0.1:${match[1]}`;
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
