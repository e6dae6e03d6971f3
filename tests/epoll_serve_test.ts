/**
 * `serve --engine ffi` end to end: the echo served through libc's epoll,
 * measured by both client engines, with payloads larger than a socket
 * buffer (partial sends), stopped by a signal. The limits, the idle
 * timeout, bounded memory and the signals run for both server engines in
 * `serve_test.ts` and `serve_limits_test.ts`.
 */
import assert from "node:assert/strict";
import { ENGINES, runCli, spawnCli } from "./helpers.ts";

const linuxOnly = Deno.build.os !== "linux";

/** `serve --engine ffi` on a free port with discard and chargen left on, once it listens. */
async function startEpollServe(threads: number) {
  const server = spawnCli([
    "serve",
    "--engine",
    "ffi",
    "--threads",
    String(threads),
    "--port",
    "0",
  ]);
  try {
    const match = await server.waitFor(/^echo listening on 127\.0\.0\.1:(\d+) \(tcp\)/);
    return Object.assign(server, { port: Number(match[1]) });
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
}

Deno.test({
  name:
    "serve --engine ffi echoes every client engine's round trips, large ones too, and counts them",
  ignore: linuxOnly,
  async fn() {
    await using server = await startEpollServe(2);
    const target = `127.0.0.1:${server.port}`;
    for (const engine of ENGINES) {
      const out = await runCli([
        "latency",
        target,
        ...["--engine", engine, "-w", "2", "-c", "3", "-n", "400", "--warmup", "10"],
      ]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /done 2,400, failed 0/);
    }
    // 1 MiB echoes overflow the socket buffers: the server keeps what the client has not
    // taken yet and sends it when it can; every echo is verified byte for byte.
    const large = await runCli(["latency", target, "--size", "1MiB", "-n", "20", "--warmup", "0"]);
    assert.equal(large.code, 0, large.stderr);
    assert.match(large.stdout, /done 20, failed 0/);
    const stopped = await server.stop("SIGINT");
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /^threads: 2, engine ffi/m);
    assert.match(stopped.stdout, /^Note: --engine ffi serves echo only: no discard, no chargen$/m);
    // 6 connections per client engine and 1 more; 2 x 6 x 410 KiB round trips, 20 MiB.
    const bytes = (2 * 6 * 410 * 1024 + 20 * 1024 * 1024).toLocaleString("en-US");
    assert.match(stopped.stdout, new RegExp(`^echo +13 +0 +0 +${bytes} +${bytes}$`, "m"));
  },
});

for (
  const [args, message] of [
    [["--engine", "nonsense"], /^netspeed: Invalid --engine "nonsense": expected deno or ffi/],
    [["--engine", "ffi", "--udp"], /Option --engine ffi serves TCP echo only/],
    [["--engine", "ffi", "--no-echo"], /Option --engine ffi serves echo/],
    [["--engine", "ffi", "--busy-poll"], /Options --engine ffi and --busy-poll are two FFI echoes/],
    [["--engine", "ffi", "--host", "localhost"], /Option --engine ffi binds an IP address/],
  ] as const
) {
  Deno.test(`serve ${args.join(" ")} exits 2 with one line`, async () => {
    const result = await runCli(["serve", "--port", "0", ...args]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, message);
  });
}
