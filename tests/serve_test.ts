/**
 * `netspeed serve` as a process: RFC 862/863/864 behaviour, limits,
 * shutdown, and bounded memory against a client that never reads.
 */
import assert from "node:assert/strict";
import { SERVE_ENGINES, spawnCli, startServe } from "./helpers.ts";

async function connect(port: number): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

/** Resident memory of a process in KiB, from /proc. */
async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

Deno.test("serve echoes for the classic Python tutorial client, unchanged", async () => {
  await using server = await startServe();
  // The seed exercise's client: 1 KiB of random bytes, sendall, then recv until all is back.
  const script = `
import os, socket, sys
payload = os.urandom(1024)
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s:
    for _ in range(100):
        s.sendall(payload)
        received = b""
        while len(received) < len(payload):
            received += s.recv(1024)
        assert received == payload
print("ok")
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script, String(server.port)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "ok");
});

Deno.test("serve binds loopback by default and reports the port it picked", async () => {
  await using server = await startServe();
  assert.ok(server.port > 0);
  assert.match(server.lines[0], /^echo listening on 127\.0\.0\.1:\d+ \(tcp\)$/);
});

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine} echoes any framing byte for byte, including 1 MiB in one write`, async () => {
    await using server = await startServe(engineArgs);
    const conn = await connect(server.port);
    const payload = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const writing = (async () => {
      for (let offset = 0; offset < payload.length;) {
        offset += await conn.write(payload.subarray(offset, offset + 100_000));
      }
    })();
    const received = new Uint8Array(payload.length);
    let filled = 0;
    while (filled < payload.length) {
      const n = await conn.read(received.subarray(filled));
      assert.notEqual(n, null);
      filled += n!;
    }
    await writing;
    conn.close();
    assert.deepEqual(received, payload);
  });
}

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine} stops on SIGTERM and SIGINT with totals and exit 0`, async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const server = await startServe(engineArgs);
      const conn = await connect(server.port);
      await conn.write(new Uint8Array(100));
      await conn.read(new Uint8Array(100));
      const result = await server.stop(signal);
      conn.close();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`Stopped by ${signal}`));
      assert.match(result.stdout, /^echo +1 +0 +0 +100 +100$/m);
    }
  });
}

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine} closes connections beyond --max-connections at once and counts them`, async () => {
    await using server = await startServe([...engineArgs, "--max-connections", "2"]);
    const kept = [await connect(server.port), await connect(server.port)];
    // Let the server account for both before the third arrives.
    for (const conn of kept) {
      await conn.write(new Uint8Array([1]));
      await conn.read(new Uint8Array(1));
    }
    const extra = await connect(server.port);
    const n = await extra.read(new Uint8Array(10)).catch(() => null);
    assert.equal(n, null, "the extra connection is closed by the server");
    extra.close();
    for (const conn of kept) conn.close();
    const result = await server.stop();
    assert.match(result.stdout, /^echo +2 +1 +0 /m);
  });
}

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine} closes connections idle longer than --idle-timeout`, async () => {
    await using server = await startServe([...engineArgs, "--idle-timeout", "200ms"]);
    const conn = await connect(server.port);
    const started = performance.now();
    const n = await conn.read(new Uint8Array(10)).catch(() => null);
    const waitedMs = performance.now() - started;
    conn.close();
    assert.equal(n, null);
    assert.ok(waitedMs >= 150 && waitedMs < 5000, `closed after ${waitedMs} ms`);
    const result = await server.stop();
    assert.match(result.stdout, /^echo +1 +0 +1 /m);
  });
}

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine}: memory stays bounded while a client sends and never reads`, async () => {
    await using server = await startServe(engineArgs);
    const before = await rssKiB(server.process.pid);
    const conn = await connect(server.port);
    const chunk = new Uint8Array(256 * 1024);
    let sent = 0;
    // Write for up to 3 s or 512 MiB; writes stall once the buffers fill.
    const deadline = performance.now() + 3000;
    while (performance.now() < deadline && sent < 512 * 1024 * 1024) {
      const wrote = await Promise.race([
        conn.write(chunk),
        new Promise<number>((resolve) => setTimeout(() => resolve(-1), 200)),
      ]);
      if (wrote < 0) continue;
      sent += wrote;
    }
    const after = await rssKiB(server.process.pid);
    conn.close();
    // Kernel socket buffers hold a few MiB; the server itself holds at most --buffer-size.
    assert.ok(sent < 64 * 1024 * 1024, `the client could push ${sent} bytes: no backpressure`);
    assert.ok(after - before < 32 * 1024, `server grew by ${after - before} KiB`);
  });
}

Deno.test("serve runs discard and chargen on their own ports (RFC 863, RFC 864)", async () => {
  await using server = spawnCli([
    "serve",
    "--port",
    "0",
    "--discard-port",
    "0",
    "--chargen-port",
    "0",
  ]);
  const discardPort = Number((await server.waitFor(/^discard listening on .*:(\d+)/))[1]);
  const chargenPort = Number((await server.waitFor(/^chargen listening on .*:(\d+)/))[1]);

  const discard = await connect(discardPort);
  await discard.write(new Uint8Array(10_000));
  discard.close();

  const chargen = await connect(chargenPort);
  const buffer = new Uint8Array(74 * 3);
  let filled = 0;
  while (filled < buffer.length) filled += (await chargen.read(buffer.subarray(filled)))!;
  chargen.close();
  const lines = new TextDecoder().decode(buffer).split("\r\n");
  // 72 printable characters per line, each line shifted by one.
  assert.equal(lines[0].length, 72);
  assert.equal(
    lines[0],
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg",
  );
  assert.equal(lines[1], lines[0].slice(1) + "h");

  await new Promise((resolve) => setTimeout(resolve, 200));
  const result = await server.stop();
  assert.match(result.stdout, /^discard +1 +0 +0 +10,000 +0$/m);
});

for (const engine of SERVE_ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`serve --engine ${engine} holds 2000 concurrent connections in one process, echoing on each`, async () => {
    await using server = await startServe(engineArgs);
    const conns: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 2000; i++) conns.push(await connect(server.port));
      // All open at once: each now does one round trip.
      await Promise.all(conns.map(async (conn, i) => {
        const payload = new Uint8Array([i & 0xff, i >> 8, 7, 7]);
        await conn.write(payload);
        const back = new Uint8Array(4);
        let filled = 0;
        while (filled < 4) filled += (await conn.read(back.subarray(filled)))!;
        assert.deepEqual(back, payload);
      }));
    } finally {
      for (const conn of conns) conn.close();
    }
    const result = await server.stop();
    assert.match(result.stdout, /^echo +2,000 +0 +0 +8,000 +8,000$/m);
  });
}
