/**
 * The open loops compare each reply's body with what was sent (past the
 * frame header, which is checked field by field), in JavaScript with the
 * default engine and by `memcmp` with the FFI engine: a server that
 * changes one byte at the end of a message must be caught by both.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ENGINES, nodeEchoServer, readCsv, runCli, tempDir } from "./helpers.ts";

/** A UDP echo on 127.0.0.1 that flips the last byte of every `every`-th datagram. */
function corruptingUdpEcho(every: number): AsyncDisposable & { port: number; flipped: number } {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const state = { flipped: 0 };
  let n = 0;
  const loop = (async () => {
    for await (const [data, from] of socket) {
      if (++n % every === 0) {
        data[data.length - 1] ^= 0xff;
        state.flipped++;
      }
      await socket.send(data, from);
    }
  })().catch(() => {/* closed */});
  return {
    port: (socket.addr as Deno.NetAddr).port,
    get flipped() {
      return state.flipped;
    },
    async [Symbol.asyncDispose]() {
      socket.close();
      await loop;
    },
  };
}

for (const engine of ENGINES) {
  Deno.test(`latency --rate --engine ${engine} catches a reply whose last byte was changed`, async () => {
    await using dir = await tempDir();
    await using server = await nodeEchoServer(0, { corruptFromChunk: 30, corruptLastByte: true });
    const csvPath = join(dir.path, "open.csv");
    const result = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["-n", "100", "--rate", "500/s", "-s", "100", "--warmup", "0", "--csv", csvPath],
      ...["--no-progress", "--engine", engine],
    ]);
    assert.equal(result.code, 1, result.stderr + result.stdout);
    const rows = await readCsv(csvPath);
    // The 30th chunk the server reads is the first it changes: about the 30th message (fewer
    // chunks than messages when the client's writes coalesce).
    const firstBad = rows.findIndex((r) => r.error !== "");
    assert.equal(rows[firstBad]?.error, "mismatch", JSON.stringify(rows[firstBad]));
    assert.ok(firstBad >= 1 && firstBad < 100, `first failure at row ${firstBad}`);
    assert.ok(rows.slice(0, firstBad).every((r) => r.error === ""));
  });

  Deno.test(`latency --udp --engine ${engine} counts replies whose last byte was changed as mismatched`, async () => {
    await using dir = await tempDir();
    await using echo = corruptingUdpEcho(10);
    const jsonPath = join(dir.path, "udp.json");
    const result = await runCli([
      "latency",
      "--udp",
      `127.0.0.1:${echo.port}`,
      ...["-n", "200", "--rate", "500/s", "-s", "200", "--warmup", "0", "--timeout", "300ms"],
      ...["--json", jsonPath, "--no-progress", "--engine", engine],
    ]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const summary = JSON.parse(await Deno.readTextFile(jsonPath));
    assert.equal(echo.flipped, 20);
    assert.equal(summary.udp.sent, 200);
    assert.equal(summary.udp.mismatched, 20);
    assert.equal(summary.udp.received, 180);
    assert.match(result.stdout, /20 echoes differed from the datagram sent/);
  });
}
