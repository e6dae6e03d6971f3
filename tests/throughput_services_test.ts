/**
 * The services `throughput` reads from and writes to, in process on free
 * loopback ports: chargen keeps the RFC 864 pattern across short writes,
 * and its idle timeout does not cut off a client that reads slowly.
 */
import assert from "node:assert/strict";
import { readExactly } from "../lib/net_io.ts";
import { DEFAULT_TCP_SERVICES_OPTIONS, TcpServices } from "../lib/server/tcp_services.ts";

function chargenOnly(idleTimeoutMs: number): TcpServices {
  return TcpServices.start({
    ...DEFAULT_TCP_SERVICES_OPTIONS,
    ports: { echo: null, discard: null, chargen: 0 },
    idleTimeoutMs,
  });
}

/** The line RFC 864 sends at position `n` of its cycle: 72 characters from the n-th printable one. */
function expectedLine(n: number): string {
  let text = "";
  for (let i = 0; i < 72; i++) text += String.fromCharCode(32 + (n + i) % 95);
  return text + "\r\n";
}

Deno.test("chargen sends the rotating RFC 864 lines without a break over megabytes", async () => {
  const services = chargenOnly(0);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: services.bound[0].port });
  try {
    // Not reading at first lets the socket buffers fill, so the write that
    // fills them is cut short and the next one must go on where it stopped.
    // 16 MB reads well past those buffers; odd-sized reads make lines
    // straddle reads.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const bytes = new Uint8Array(16_000_000);
    for (let offset = 0; offset < bytes.length; offset += 99_991) {
      await readExactly(conn, bytes.subarray(offset, Math.min(bytes.length, offset + 99_991)));
    }
    const text = new TextDecoder().decode(bytes);
    const lines = Math.floor(text.length / 74);
    for (let n = 0; n < lines; n++) {
      const line = text.slice(n * 74, n * 74 + 74);
      if (line !== expectedLine(n % 95)) {
        assert.fail(
          `line ${n} is ${JSON.stringify(line)}, expected ${JSON.stringify(expectedLine(n % 95))}`,
        );
      }
    }
  } finally {
    conn.close();
    await services.close();
  }
  assert.ok(services.totals.chargen.bytesSent >= 16_000_000);
});

Deno.test("chargen does not close a client that reads slower than the idle timeout frees its buffer", async () => {
  const services = chargenOnly(200);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: services.bound[0].port });
  let received = 0;
  try {
    const buffer = new Uint8Array(1024);
    // 1 KiB every 100 ms for 1.2 s: six idle timeouts without a chargen
    // write completing (the socket buffers hold megabytes).
    for (let i = 0; i < 12; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const n = await conn.read(buffer);
      assert.notEqual(n, null, "chargen closed a reading client");
      received += n!;
    }
  } finally {
    conn.close();
    await services.close();
  }
  assert.equal(services.totals.chargen.idleClosed, 0);
  assert.equal(received, 12 * 1024);
});

Deno.test("discard counts every byte a client sends, and idles out a silent client", async () => {
  const services = TcpServices.start({
    ...DEFAULT_TCP_SERVICES_OPTIONS,
    ports: { echo: null, discard: 0, chargen: null },
    idleTimeoutMs: 200,
  });
  try {
    const port = services.bound[0].port;
    const sender = await Deno.connect({ hostname: "127.0.0.1", port });
    const block = new Uint8Array(1 << 20);
    for (let i = 0; i < 8; i++) {
      let offset = 0;
      while (offset < block.length) offset += await sender.write(block.subarray(offset));
    }
    sender.close();
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    // The server closes it after 200 ms of silence: the read sees the end.
    const closed = await Promise.race([
      silent.read(new Uint8Array(1)).then(() => "closed", () => "closed"),
      new Promise((resolve) => setTimeout(() => resolve("still open"), 3000)),
    ]);
    silent.close();
    assert.equal(closed, "closed");
    const deadline = Date.now() + 3000;
    while (services.totals.discard.bytesReceived < 8 << 20 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(services.totals.discard.bytesReceived, 8 << 20);
    assert.equal(services.totals.discard.idleClosed, 1);
  } finally {
    await services.close();
  }
});
