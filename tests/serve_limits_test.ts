/**
 * `netspeed serve` exposed: no stall from connections reset before accept,
 * limits shared by every thread, per-client limits, a clean stop under
 * load, out-of-descriptor recovery, and the abuse benchmark in small.
 */
import assert from "node:assert/strict";
import { runCli, SERVE_ENGINES, startServe } from "./helpers.ts";
import { openIdle, plainEchoMs, resetBeforeAccept, spawnServe } from "../scripts/abuse_clients.ts";
import { runAbuse } from "../scripts/perf_abuse.ts";

/** The best of three plain echoes 50 ms apart: a stall lasts seconds, a loaded machine's hiccup does not. */
async function bestEchoMs(port: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    times.push(await plainEchoMs(port, 5000));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Math.min(...times);
}

/** Runs a Python snippet with arguments; resolves with its stdout. */
async function python(script: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("python3", {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine} answers a plain echo within 100 ms after 500 connections reset before accept`, async () => {
    await using server = await startServe([...engineArgs, "--threads", "1"]);
    await resetBeforeAccept(server.port, 500);
    const echoMs = await bestEchoMs(server.port);
    assert.ok(echoMs < 100, `the echo took ${echoMs} ms`);
    const result = await server.stop();
    assert.equal(result.code, 0, result.stderr);
  });
}

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine} --max-connections holds over every thread together`, async () => {
    await using server = await startServe([
      ...engineArgs,
      "--threads",
      "2",
      "--max-connections",
      "4",
    ]);
    const held = await openIdle(server.port, 10);
    try {
      // Each held connection either echoes (admitted) or is closed at once (refused).
      const admitted = await Promise.all(held.conns.map(async (conn) => {
        try {
          await conn.write(new Uint8Array([1]));
          return (await conn.read(new Uint8Array(1))) === 1;
        } catch {
          return false;
        }
      }));
      assert.equal(admitted.filter(Boolean).length, 4);
    } finally {
      held.close();
    }
    const result = await server.stop();
    assert.match(result.stdout, /^echo +4 +6 +0 /m);
  });
}

// Python can bind a source address; 127.0.0.2 is a second client on loopback.
const PER_CLIENT_SCRIPT = `
import socket, sys, time
port = int(sys.argv[1])
def attempt(source):
    s = socket.socket()
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(2)
    try:
        s.sendall(b"x")
        return s, s.recv(1) == b"x"
    except OSError:
        return s, False
held = []
results = {}
for source, n in (("127.0.0.1", 5), ("127.0.0.2", 2)):
    ok = 0
    for _ in range(n):
        s, echoed = attempt(source)
        held.append(s)
        ok += echoed
    results[source] = ok
print(results["127.0.0.1"], results["127.0.0.2"])
`;

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine} --max-connections-per-client refuses one address's extra connections, not another's`, async () => {
    await using server = await startServe([
      ...engineArgs,
      ...["--threads", "2", "--max-connections-per-client", "3"],
    ]);
    const [first, second] = (await python(PER_CLIENT_SCRIPT, [String(server.port)])).split(" ")
      .map(Number);
    assert.equal(first, 3, "the first address keeps 3 connections");
    assert.equal(second, 2, "the second address is not affected by the first");
    const result = await server.stop();
    assert.match(result.stdout, /^echo +5 +2 +0 /m);
  });
}

Deno.test("serve --udp-rate-limit-per-source keeps one flooding source from starving another", async () => {
  await using server = await startServe(["--udp", "--udp-rate-limit-per-source", "100/s"]);
  await server.waitFor(/^udp-echo listening/);
  const sockets = ["127.0.0.1", "127.0.0.2"].map((hostname) =>
    Deno.listenDatagram({ hostname, port: 0, transport: "udp" })
  );
  const echoes = [0, 0];
  const receiving = sockets.map((socket, i) =>
    (async () => {
      for await (const _ of socket) echoes[i]++;
    })().catch(() => {})
  );
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: server.port };
  for (let i = 0; i < 150; i++) await sockets[0].send(new Uint8Array(16), to);
  for (let i = 0; i < 8; i++) await sockets[1].send(new Uint8Array(16), to);
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const socket of sockets) socket.close();
  await Promise.all(receiving);
  // The bucket holds a tenth of a second (10 datagrams) and refills at 100/s.
  assert.ok(echoes[0] >= 10 && echoes[0] <= 60, `the flooding source got ${echoes[0]} echoes`);
  assert.equal(echoes[1], 8, "the other source got every echo");
  const stopped = await server.stop();
  assert.match(stopped.stdout, /over the rate limit, \d+ over the per-source limit/);
});

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine} stops on SIGTERM within 2 s while 1,000 connections echo, with totals`, async () => {
    await using server = await startServe(engineArgs);
    const held = await openIdle(server.port, 1000);
    let roundTrips = 0;
    let running = true;
    const loops = held.conns.map(async (conn) => {
      const buffer = new Uint8Array(64);
      try {
        while (running) {
          await conn.write(buffer);
          let filled = 0;
          while (filled < 64) {
            const n = await conn.read(buffer.subarray(filled));
            if (n === null) return;
            filled += n;
          }
          roundTrips++;
        }
      } catch { /* the server closed it */ }
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok(roundTrips > 1000, `only ${roundTrips} round trips before the stop`);
    const started = performance.now();
    const result = await server.stop("SIGTERM");
    const stopMs = performance.now() - started;
    running = false;
    await Promise.all(loops);
    held.close();
    assert.equal(result.code, 0, result.stderr);
    assert.ok(stopMs < 2000, `exit took ${stopMs} ms`);
    assert.match(result.stdout, /Stopped by SIGTERM/);
    assert.match(result.stdout, /^echo +1,00\d /m);
  });
}

Deno.test("serve refuses a port another netspeed serve holds, even with --threads", async () => {
  await using first = await startServe(["--threads", "2"]);
  const second = await runCli([
    "serve",
    "--port",
    String(first.port),
    "--no-discard",
    "--no-chargen",
    "--threads",
    "2",
  ]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /^netspeed: Cannot listen on "127\.0\.0\.1:\d+" for echo: /);
  assert.equal(second.stderr.trim().split("\n").length, 1);
});

Deno.test("serve rejects bad --threads and --max-connections-per-client with one line, exit 2", async () => {
  for (
    const args of [
      ["--threads", "0"],
      ["--threads", "abc"],
      ["--max-connections-per-client", "-1"],
      ["--backlog", "0"],
    ]
  ) {
    const result = await runCli(["serve", "--port", "0", ...args]);
    assert.equal(result.code, 2, args.join(" "));
    assert.equal(result.stdout, "", "nothing started");
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], new RegExp(`^netspeed: Invalid ${args[0]} "${args[1]}": `));
  }
});

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine} recovers as soon as descriptors free after running out of them (EMFILE)`, async () => {
    // A limit of 64 open files: the runtime takes some, so 80 clients exhaust it.
    await using server = await spawnServe(
      [...engineArgs, "--port", "0", "--no-discard", "--no-chargen", "--threads", "1"],
      64,
    );
    const held = await openIdle(server.port, 80);
    // The kernel completes handshakes the server cannot accept: the clients connected anyway.
    assert.equal(held.conns.length, 80, held.stoppedBy);
    await new Promise((resolve) => setTimeout(resolve, 300));
    held.close();
    const echoMs = await bestEchoMs(server.port);
    assert.ok(echoMs < 500, `the echo after the descriptors freed took ${echoMs} ms`);
  });
}

Deno.test("serve survives the abuse benchmark in small: every phase answers, the stop is clean", async () => {
  const result = await runAbuse({
    idle: 300,
    pushers: 5,
    pushSeconds: 1,
    resets: 100,
    tls: 20,
    datagrams: 3000,
  });
  for (const phase of result.phases) {
    assert.ok(phase.echoMs < 1000, `after "${phase.phase}" the echo took ${phase.echoMs} ms`);
  }
  assert.ok(
    Number.isFinite(result.udpEcho.ms),
    `the UDP echo answers after the flood (${result.udpEcho.probes} probes unanswered)`,
  );
  assert.equal(result.stop.code, 0);
  assert.ok(result.stop.totalsPrinted, result.stdout);
  assert.ok(result.peakRssKiB > 0 && result.peakRssKiB < 512 * 1024, `${result.peakRssKiB} KiB`);
  assert.match(result.phases[1].detail, /^300 open/);
});
