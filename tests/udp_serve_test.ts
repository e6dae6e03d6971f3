/**
 * `netspeed serve --udp`: echo over UDP on the echo port's number, bounded
 * in datagram size and rate so it cannot be turned into a reflector.
 */
import assert from "node:assert/strict";
import { parseServeUdpFlags } from "../lib/cli/serve.ts";
import { runCli, SERVE_FLAGS, startServe } from "./helpers.ts";

/** Sends `datagrams` to the port at once and counts what comes back within `waitMs`. */
async function burst(port: number, datagrams: Uint8Array[], waitMs = 300): Promise<Uint8Array[]> {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const echoes: Uint8Array[] = [];
  const receiving = (async () => {
    for await (const [data] of socket) echoes.push(data);
  })().catch(() => {});
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  for (const datagram of datagrams) await socket.send(datagram, to);
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  socket.close();
  await receiving;
  return echoes;
}

Deno.test("serve --udp echoes datagrams on the echo port's number and drops oversized ones", async () => {
  await using server = await startServe(["--udp", "--udp-max-size", "1000"]);
  const match = await server.waitFor(/^udp-echo listening on 127\.0\.0\.1:(\d+) \(udp\)/);
  assert.equal(Number(match[1]), server.port);
  const small = crypto.getRandomValues(new Uint8Array(1000));
  const big = new Uint8Array(1001);
  const echoes = await burst(server.port, [small, big, small]);
  assert.equal(echoes.length, 2);
  assert.deepEqual(echoes[0], small);
  const stopped = await server.stop("SIGINT");
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(
    stopped.stdout,
    /udp-echo: 3 datagrams received, 2 echoed \(2,000 bytes\), dropped: 1 too big, 0 over the rate limit/,
  );
});

Deno.test("serve --udp answers no more than --udp-rate-limit allows", async () => {
  await using server = await startServe(["--udp", "--udp-rate-limit", "100/s"]);
  await server.waitFor(/^udp-echo listening/);
  const datagram = new Uint8Array(64);
  // A burst of 150 (few enough for the socket buffer): the bucket holds a
  // tenth of a second (10) and refills at 100/s.
  const echoes = await burst(server.port, Array(150).fill(datagram), 200);
  assert.ok(echoes.length >= 10 && echoes.length <= 60, `${echoes.length} echoed`);
  const stopped = await server.stop("SIGINT");
  const totals = /udp-echo: 150 datagrams received, (\d+) echoed .* (\d+) over the rate limit/
    .exec(stopped.stdout);
  assert.ok(totals, stopped.stdout);
  assert.equal(Number(totals[1]) + Number(totals[2]), 150);
  assert.ok(Number(totals[1]) <= 60);
});

Deno.test("parseServeUdpFlags() keeps UDP on loopback even when --host exposes TCP", () => {
  assert.equal(parseServeUdpFlags(SERVE_FLAGS), null);
  assert.deepEqual(parseServeUdpFlags({ ...SERVE_FLAGS, udp: true }), {
    host: "127.0.0.1",
    maxDatagramBytes: 2048,
    maxPerSec: 20_000,
    maxPerSourcePerSec: 0,
  });
  assert.deepEqual(
    parseServeUdpFlags({
      ...SERVE_FLAGS,
      udp: true,
      udpHost: "::1",
      udpMaxSize: "9000",
      udpRateLimit: "5k/s",
      udpRateLimitPerSource: "500/s",
    }),
    { host: "::1", maxDatagramBytes: 9000, maxPerSec: 5000, maxPerSourcePerSec: 500 },
  );
});

Deno.test("serve refuses UDP options without --udp and datagrams UDP cannot carry", async () => {
  const lonely = await runCli(["serve", "--udp-rate-limit", "10/s"]);
  assert.equal(lonely.code, 2);
  assert.match(lonely.stderr, /Option --udp-rate-limit "10\/s" needs --udp too/);
  const huge = await runCli(["serve", "--udp", "--udp-max-size", "70000"]);
  assert.equal(huge.code, 2);
  assert.match(
    huge.stderr,
    /Invalid --udp-max-size "70000": a UDP datagram holds at most 65507 bytes/,
  );
});
