/**
 * `netspeed latency --udp` against a known path: a relay on 127.0.0.1,
 * owned by the test, sits between the client and `serve --udp` and drops
 * every k-th datagram, swaps some pairs and duplicates some datagrams on
 * the way to the server. The client must report exactly that loss,
 * reordering and duplication.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ENGINES,
  readCsv,
  runCli,
  spawnCli,
  startServe,
  tempDir,
  waitForRows,
  windowEndAfterLastRowMs,
} from "./helpers.ts";

interface RelayPlan {
  /** Drop datagram n (1-based, in arrival order from the client) when n % dropEvery === 0. */
  dropEvery: number;
  /** Hold datagram n back when n % swapEvery === swapAt, and send it after the next one. */
  swapEvery: number;
  swapAt: number;
  /** Send datagram n twice when n % duplicateEvery === duplicateAt. */
  duplicateEvery: number;
  duplicateAt: number;
}

/** What the relay did, counted by the relay itself. */
interface RelayCounts {
  fromClient: number;
  dropped: number;
  swapped: number;
  duplicated: number;
  /** Sequence numbers (n − 1) of the dropped datagrams. */
  droppedSeqs: number[];
}

/** A UDP relay: client datagrams go to the server per the plan, server datagrams go back as they are. */
function faultyRelay(
  serverPort: number,
  plan: RelayPlan,
): AsyncDisposable & { port: number; counts: RelayCounts } {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const server: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: serverPort };
  const counts: RelayCounts = {
    fromClient: 0,
    dropped: 0,
    swapped: 0,
    duplicated: 0,
    droppedSeqs: [],
  };
  let client: Deno.NetAddr | undefined;
  let held: Uint8Array | undefined;
  const loop = (async () => {
    for await (const [data, from] of socket) {
      const addr = from as Deno.NetAddr;
      if (addr.port === serverPort) {
        if (client) await socket.send(data, client);
        continue;
      }
      client = addr;
      const n = ++counts.fromClient;
      if (n % plan.dropEvery === 0) {
        counts.dropped++;
        counts.droppedSeqs.push(n - 1);
        continue;
      }
      if (held) {
        await socket.send(data, server);
        await socket.send(held, server);
        held = undefined;
        counts.swapped++;
        continue;
      }
      if (n % plan.swapEvery === plan.swapAt) {
        held = data.slice();
        continue;
      }
      await socket.send(data, server);
      if (n % plan.duplicateEvery === plan.duplicateAt) {
        await socket.send(data, server);
        counts.duplicated++;
      }
    }
  })().catch(() => {/* closed */});
  return {
    port: (socket.addr as Deno.NetAddr).port,
    counts,
    async [Symbol.asyncDispose]() {
      socket.close();
      await loop;
    },
  };
}

for (const engine of ENGINES) {
  Deno.test(`latency --udp --engine ${engine} reports exactly the loss, reordering and duplicates a relay caused`, async () => {
    await using dir = await tempDir();
    await using server = await startServe(["--udp"]);
    const udpPort = Number(
      (await server.waitFor(/^udp-echo listening on 127\.0\.0\.1:(\d+) \(udp\)/))[1],
    );
    // 1000 datagrams: every 50th dropped (20), one in a hundred held back behind
    // the next (10 swaps, never next to a drop), one in a hundred sent twice (10).
    await using relay = faultyRelay(udpPort, {
      dropEvery: 50,
      swapEvery: 100,
      swapAt: 10,
      duplicateEvery: 100,
      duplicateAt: 30,
    });
    const csvPath = join(dir.path, "udp.csv");
    const jsonPath = join(dir.path, "udp.json");
    // 500/s: the relay is JavaScript in this test process; at higher rates a
    // busy machine (tests run in parallel) lets its socket buffer overflow,
    // and those kernel drops would add to the planned ones.
    const result = await runCli([
      "latency",
      "--udp",
      ...["--engine", engine],
      `127.0.0.1:${relay.port}`,
      ...["-n", "1000", "--rate", "500/s", "-s", "200", "--warmup", "0", "--timeout", "300ms"],
      ...["--csv", csvPath, "--json", jsonPath, "--no-progress"],
    ]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.deepEqual(
      { ...relay.counts, droppedSeqs: relay.counts.droppedSeqs.length },
      { fromClient: 1000, dropped: 20, swapped: 10, duplicated: 10, droppedSeqs: 20 },
    );

    const summary = JSON.parse(await Deno.readTextFile(jsonPath));
    assert.equal(summary.mode, "open-loop");
    assert.equal(summary.options.transport, "udp");
    assert.equal(summary.udp.sent, 1000);
    assert.equal(summary.udp.received, 980);
    assert.equal(summary.udp.lost, 20);
    assert.equal(summary.udp.lossRatio, 0.02);
    assert.equal(summary.udp.reordered, 10);
    assert.equal(summary.udp.duplicates, 10);
    assert.equal(summary.udp.late, 0);
    assert.ok(summary.udp.jitterUs > 0 && Number.isFinite(summary.udp.jitterUs));
    assert.equal(summary.done, 980);
    assert.equal(summary.errors.timeout, 20);
    assert.match(
      result.stdout,
      /UDP: sent 1,000, echoed 980, lost 20 \(2\.00%\), duplicates 10, reordered 10, jitter [\d.]+ µs/,
    );

    // One row per datagram; the lost ones are exactly those the relay dropped.
    const rows = await readCsv(csvPath);
    assert.equal(rows.length, 1000);
    const lost = rows.filter((r) => r.error === "timeout").map((r) => Number(r.seq));
    assert.deepEqual(lost.sort((a, b) => a - b), relay.counts.droppedSeqs);
    assert.ok(rows.filter((r) => r.error === "").every((r) => Number(r.rtt_us) > 0));
    assert.equal(summary.options.engine, engine);
    // Every datagram's send time is kept, and how late it left is in the summary.
    assert.equal(summary.sendLateness.count, 1000);
    // The last datagram is one the relay dropped: the wait for it (the
    // 300 ms time limit) measures nothing, so the window ends at the last
    // send or echo (a lost row's end is its send time: no rtt_us).
    const afterMs = windowEndAfterLastRowMs(summary, rows, "rtt_uncorrected_us");
    assert.ok(afterMs > -1 && afterMs < 5, `window ends ${afterMs} ms after the last row`);
    const windowSeconds = (summary.window.endEpochMs - summary.window.startEpochMs) / 1000;
    assert.ok(Math.abs(summary.rate.answeredPerSec - 980 / windowSeconds) < 0.01);
  });
}

for (const engine of ENGINES) {
  Deno.test(`latency --udp --engine ${engine} fails in one line when no UDP echo answers`, async () => {
    // A bound socket that never answers: the warm-up datagram times out.
    const silent = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    try {
      const port = (silent.addr as Deno.NetAddr).port;
      const result = await runCli([
        "latency",
        "--udp",
        ...["--engine", engine],
        `127.0.0.1:${port}`,
        ...["-n", "10", "--warmup", "1", "--timeout", "200ms", "--no-progress"],
      ]);
      assert.equal(result.code, 1, result.stdout);
      assert.match(
        result.stderr,
        new RegExp(
          `^netspeed: No echo from the UDP echo at "127\\.0\\.0\\.1:${port}": timed out\\n$`,
        ),
      );
    } finally {
      silent.close();
    }
  });
}

for (const engine of ENGINES) {
  // The dense schedule leaves no room before its sends: the Worker must still let its event loop
  // in, or neither "stop" nor the CSV's flushes would come before the end.
  for (const rate of ["1000/s", "100000/s"]) {
    Deno.test(`Ctrl-C stops latency --udp --engine ${engine} --rate ${rate}, keeps every row and exits 130`, async () => {
      await using dir = await tempDir();
      await using server = await startServe(["--udp"]);
      const udpPort = Number(
        (await server.waitFor(/^udp-echo listening on 127\.0\.0\.1:(\d+) \(udp\)/))[1],
      );
      const csvPath = join(dir.path, "interrupted.csv");
      const jsonPath = join(dir.path, "interrupted.json");
      await using client = spawnCli([
        "latency",
        "--udp",
        ...["--engine", engine],
        `127.0.0.1:${udpPort}`,
        ...["-c", "2", "--rate", rate, "-d", "30s", "--csv", csvPath, "--json", jsonPath],
      ]);
      // Rows are on disk while it measures.
      await waitForRows(csvPath, 150);
      const stopSentPerf = performance.now();
      const result = await client.stop("SIGINT");
      // Wide bound: the run asked for 30 s; a stop that waited for its end would take that long.
      assert.ok(performance.now() - stopSentPerf < 10_000, "the stop waited for the run's end");
      assert.equal(result.code, 130, result.stderr);
      assert.match(result.stdout, /Warning: Interrupted/);
      const summary = JSON.parse(await Deno.readTextFile(jsonPath));
      assert.equal(summary.interrupted, true);
      const rows = await readCsv(csvPath);
      // Datagrams still out at the stop are neither echoed nor lost, and have no row.
      assert.ok(rows.length > 100, `${rows.length} rows`);
      assert.equal(rows.length, summary.done + summary.failed);
      assert.equal(summary.udp.received, summary.done);
    });
  }
}

for (const engine of ENGINES) {
  Deno.test(`latency --udp --engine ${engine} measures over IPv6 loopback`, async () => {
    await using server = await startServe(["--udp", "--udp-host", "::1"]);
    const udpPort = Number(
      (await server.waitFor(/^udp-echo listening on \[::1\]:(\d+) \(udp\)/))[1],
    );
    const result = await runCli([
      "latency",
      "--udp",
      ...["--engine", engine],
      `[::1]:${udpPort}`,
      ...["-n", "200", "--no-progress"],
    ]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /UDP: sent 200, echoed 200, lost 0 /);
  });
}
