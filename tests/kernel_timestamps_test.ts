/**
 * `latency --engine ffi --kernel-timestamps`, over UDP and TCP: each reply
 * is dated by the kernel's receive timestamp (SO_TIMESTAMPNS), so a reply
 * read late is still timed by its arrival. Ground truth: a datagram, or a
 * TCP echo, read 30 ms after it came in keeps its arrival time; an echo
 * that holds each datagram 5 ms gives round trips of at least 5 ms and not
 * much more; a TCP echo whose second half comes 10 ms after its first ends
 * at its last byte.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ffiDatagram } from "../lib/engine/datagram.ts";
import { connectFfi } from "../lib/engine/ffi_socket.ts";
import { untilArrivalsStamped } from "../lib/engine/stamping_probe.ts";
import { nodeEchoServer, readCsv, runCli, startServe, tempDir } from "./helpers.ts";

const linuxOnly = Deno.build.os !== "linux";

/**
 * A UDP echo on 127.0.0.1 owned by the test, holding each datagram `holdMs`
 * before answering. `nextAnswerPerf()` gives, in order, the time each answer's
 * `send` returned: the reply was on its way by then.
 */
function heldEcho(
  holdMs: number,
): AsyncDisposable & { port: number; nextAnswerPerf(): Promise<number> } {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const pending = new Set<Promise<void>>();
  const answeredPerf: number[] = [];
  const waiting: ((perf: number) => void)[] = [];
  const answered = (perf: number) => {
    const waiter = waiting.shift();
    if (waiter) waiter(perf);
    else answeredPerf.push(perf);
  };
  const loop = (async () => {
    for await (const [data, from] of socket) {
      const answer = new Promise<void>((resolve) => setTimeout(resolve, holdMs))
        .then(() => socket.send(data, from))
        .then(() => answered(performance.now()), () => {});
      pending.add(answer);
      answer.finally(() => pending.delete(answer));
    }
  })().catch(() => {});
  return {
    port: (socket.addr as Deno.NetAddr).port,
    nextAnswerPerf() {
      const perf = answeredPerf.shift();
      return perf !== undefined
        ? Promise.resolve(perf)
        : new Promise<number>((resolve) => waiting.push(resolve));
    },
    async [Symbol.asyncDispose]() {
      socket.close();
      await loop;
      await Promise.all(pending);
    },
  };
}

Deno.test({
  name: "an FFI datagram socket with kernel timestamps dates a reply by its arrival, not its read",
  ignore: linuxOnly,
  async fn() {
    await using echo = heldEcho(0);
    const socket = ffiDatagram("127.0.0.1", echo.port, { kernelTimestamps: true });
    const plain = ffiDatagram("127.0.0.1", echo.port);
    // Until the kernel stamps arrivals, a datagram would carry its read time (stamping_probe.ts).
    assert.equal(await untilArrivalsStamped(), true);
    try {
      const payload = new Uint8Array(256).fill(7);
      const buffer = new Uint8Array(512);
      for (let i = 0; i < 5; i++) {
        const sentPerf = performance.now();
        socket.send(payload);
        // The echo runs on this event loop, so under a loaded suite it may
        // answer late: wait for its answer, then read 30 ms after it.
        const answerPerf = await echo.nextAnswerPerf();
        await new Promise((resolve) => setTimeout(resolve, 30));
        const data = await socket.receive(buffer);
        const readPerf = performance.now();
        assert.equal(data.length, payload.length);
        const arrivalPerf = socket.arrivalPerf;
        assert.ok(arrivalPerf !== undefined, "no kernel timestamp");
        assert.ok(arrivalPerf >= sentPerf, `arrival ${arrivalPerf} before the send ${sentPerf}`);
        // 1 ms of slack for turning the kernel's wall-clock stamp into performance time.
        assert.ok(
          arrivalPerf <= answerPerf + 1,
          `arrival ${(arrivalPerf - answerPerf).toFixed(2)} ms after the echo's send returned`,
        );
        assert.ok(
          readPerf - arrivalPerf >= 29,
          `arrival ${(readPerf - arrivalPerf).toFixed(2)} ms before the read, not 30 or more`,
        );
      }
      plain.send(payload);
      await new Promise((resolve) => setTimeout(resolve, 30));
      await plain.receive(buffer);
      assert.equal(plain.arrivalPerf, undefined);
    } finally {
      socket.close();
      plain.close();
    }
  },
});

Deno.test({
  name:
    "latency --udp --engine ffi --kernel-timestamps times every echo by the kernel, and a held echo by at least its hold",
  ignore: linuxOnly,
  async fn() {
    await using dir = await tempDir();
    await using echo = heldEcho(5);
    const csv = join(dir.path, "held.csv");
    const json = join(dir.path, "held.json");
    const out = await runCli([
      "latency",
      `127.0.0.1:${echo.port}`,
      ...["--udp", "--engine", "ffi", "--kernel-timestamps", "--rate", "200/s", "-n", "200"],
      ...["--csv", csv, "--json", json, "--no-progress"],
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stdout,
      /Reply times: when each echo reached this host .* for 200 of 200 echoes/,
    );
    const summary = JSON.parse(await Deno.readTextFile(json));
    assert.equal(summary.options.kernelTimestamps, true);
    assert.equal(summary.udp.received, 200);
    assert.equal(summary.udp.kernelTimed, 200);
    const rows = await readCsv(csv);
    assert.equal(rows.length, 200);
    const rtts = rows.map((r) => Number(r.rtt_uncorrected_us)).sort((a, b) => a - b);
    // Deno's timers fire a little late, never early: every round trip holds the 5 ms.
    assert.ok(rtts[0] >= 5000, `shortest round trip ${rtts[0]} µs, under the 5 ms hold`);
    assert.ok(rtts[100] < 20_000, `median round trip ${rtts[100]} µs, far over the 5 ms hold`);
  },
});

Deno.test({
  name:
    "latency --kernel-timestamps against serve --udp: no warning, every echo timed by the kernel",
  ignore: linuxOnly,
  async fn() {
    await using server = await startServe(["--udp"]);
    await using dir = await tempDir();
    const json = join(dir.path, "serve.json");
    const out = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["--udp", "--engine", "ffi", "--kernel-timestamps", "--rate", "1000/s", "-n", "500"],
      ...["--json", json, "--no-progress"],
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stdout, /without a kernel receive timestamp/);
    const summary = JSON.parse(await Deno.readTextFile(json));
    assert.equal(summary.udp.kernelTimed, summary.udp.received);
    assert.ok(summary.rttUncorrected.minUs > 0);
  },
});

Deno.test({
  name: "an FFI connection with kernel timestamps dates an echo by its arrival, not its read",
  ignore: linuxOnly,
  async fn() {
    // A peer that sends 64 bytes before anything is asked, once the socket asked for stamps
    // and the kernel stamps arrivals: the first socket on a host to ask turns stamping on
    // through deferred work, and TCP data that came before has no stamp.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = listener.accept();
    const { port } = listener.addr as Deno.NetAddr;
    const conn = await connectFfi("127.0.0.1", port, 1000, () => false, {
      kernelTimestamps: true,
    });
    const peer = await accepted;
    assert.equal(await untilArrivalsStamped(), true);
    await peer.write(new Uint8Array(64).fill(9));
    try {
      // The bytes are in this host's socket now; read them 30 ms later.
      await new Promise((resolve) => setTimeout(resolve, 30));
      const readStartPerf = performance.now();
      assert.equal(conn.roundTrip(new Uint8Array(1), new Uint8Array(64), 1000), undefined);
      const arrivalPerf = conn.arrivalPerf;
      assert.ok(arrivalPerf !== undefined, "no kernel timestamp");
      assert.ok(
        readStartPerf - arrivalPerf >= 25,
        `arrival ${(readStartPerf - arrivalPerf).toFixed(2)} ms before the read, not about 30`,
      );
    } finally {
      conn.close();
      peer.close();
      listener.close();
    }
  },
});

Deno.test({
  name:
    "latency --engine ffi --kernel-timestamps over TCP ends each round trip at the echo's last byte",
  ignore: linuxOnly,
  async fn() {
    await using dir = await tempDir();
    // Half of each echo at once, the rest 10 ms later: stamping the first half would give
    // round trips of tens of µs.
    await using echo = await nodeEchoServer(0, { splitHoldMs: 10 });
    const csv = join(dir.path, "split.csv");
    const json = join(dir.path, "split.json");
    const out = await runCli([
      "latency",
      `127.0.0.1:${echo.port}`,
      // No warm-up: the workers see to it that the kernel stamps arrivals before they measure.
      ...["--engine", "ffi", "--kernel-timestamps", "-c", "2", "-n", "25", "--warmup", "0"],
      ...["--csv", csv, "--json", json, "--no-progress"],
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stdout,
      /Reply times: when each echo reached this host .* for 50 of 50 round trips/,
    );
    const summary = JSON.parse(await Deno.readTextFile(json));
    assert.equal(summary.options.kernelTimestamps, true);
    assert.equal(summary.kernelTimed, 50);
    const rtts = (await readCsv(csv)).map((r) => Number(r.rtt_us)).sort((a, b) => a - b);
    assert.equal(rtts.length, 50);
    // Deno's timers fire a little late, never early.
    assert.ok(rtts[0] >= 10_000, `shortest round trip ${rtts[0]} µs, under the 10 ms hold`);
    assert.ok(rtts[25] < 30_000, `median round trip ${rtts[25]} µs, far over the 10 ms hold`);
  },
});

for (const engineArgs of [["--engine", "ffi"], ["--busy-poll"]]) {
  Deno.test({
    name: `latency ${
      engineArgs.join(" ")
    } --kernel-timestamps against serve: every round trip timed by the kernel`,
    ignore: linuxOnly,
    async fn() {
      await using server = await startServe();
      await using dir = await tempDir();
      const json = join(dir.path, "tcp.json");
      const out = await runCli([
        "latency",
        `127.0.0.1:${server.port}`,
        ...[...engineArgs, "--kernel-timestamps", "-n", "2000", "--warmup", "0"],
        ...["--json", json, "--no-progress"],
      ]);
      assert.equal(out.code, 0, out.stderr);
      assert.doesNotMatch(out.stdout, /without a kernel receive timestamp/);
      const summary = JSON.parse(await Deno.readTextFile(json));
      assert.equal(summary.kernelTimed, 2000);
      assert.equal(summary.done, 2000);
      assert.ok(summary.rtt.minUs > 0);
    },
  });
}

for (
  const [args, message] of [
    [["--kernel-timestamps"], /--kernel-timestamps .* needs --engine ffi \(or --busy-poll\)/],
    [["--kernel-timestamps", "--udp"], /--kernel-timestamps .* needs --engine ffi/],
    [
      ["--kernel-timestamps", "--engine", "ffi", "--rate", "100/s"],
      /--kernel-timestamps times TCP echoes in closed-loop ping-pong only: with --rate "100\/s"/,
    ],
  ] as const
) {
  Deno.test(`latency ${args.join(" ")} exits 2 with one line`, async () => {
    const out = await runCli(["latency", "127.0.0.1:9", ...args, "-n", "1"]);
    assert.equal(out.code, 2);
    const lines = out.stderr.trim().split("\n");
    assert.equal(lines.length, 1, out.stderr);
    assert.match(lines[0], message);
  });
}
