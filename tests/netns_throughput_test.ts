/**
 * Ground truth for `netspeed throughput`: a network namespace made by the
 * test, its loopback limited to 200 Mbit/s by a token bucket
 * (`tc qdisc add dev lo root tbf rate 200mbit burst 64kb latency 50ms`),
 * `serve` and `throughput` both inside it on 127.0.0.1. The measured rate
 * must be within 5% of the limit, up and down.
 *
 * The namespace's loopback MTU is set to 9000: at its default of 65536
 * every packet is larger than the 64 KiB bucket and tbf drops them all.
 * At 9000 the TCP/IP headers cost about 1% of the limit.
 *
 * Needs root, `ip` and `tc`; skips with a plain message otherwise.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT_DIR, RUN_FLAGS, tempDir } from "./helpers.ts";

const RATE_BITS_PER_SEC = 200e6;
const TOLERANCE = 0.05;

function run(cmd: string, args: string[]): { ok: boolean; stderr: string } {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped", stdin: "null" })
      .outputSync();
    return { ok: out.success, stderr: new TextDecoder().decode(out.stderr).trim() };
  } catch (error) {
    return { ok: false, stderr: (error as Error).message };
  }
}

/** Makes the namespace with its limited loopback; returns why it could not, or null. */
function makeNamespace(name: string): string | null {
  const steps: [string, string[]][] = [
    ["ip", ["netns", "add", name]],
    ["ip", ["-n", name, "link", "set", "lo", "up"]],
    ["ip", ["-n", name, "link", "set", "lo", "mtu", "9000"]],
    [
      "ip",
      [
        ...["netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "tbf"],
        ...["rate", "200mbit", "burst", "64kb", "latency", "50ms"],
      ],
    ],
  ];
  for (const [cmd, args] of steps) {
    const out = run(cmd, args);
    if (!out.ok) return `${cmd} ${args.join(" ")}: ${out.stderr || "failed"}`;
  }
  return null;
}

function deleteNamespace(name: string): void {
  run("ip", ["netns", "del", name]);
}

/** Whether this machine lets the test make namespaces; the reason when not. */
function whyNot(): string | null {
  if (Deno.build.os !== "linux") return "network namespaces are Linux only";
  if (Deno.uid() !== 0) return "not root";
  const probe = `netspeed-probe-${Deno.pid}`;
  const failed = makeNamespace(probe);
  deleteNamespace(probe);
  return failed;
}

const SKIP_REASON = whyNot();
if (SKIP_REASON) {
  console.log(
    `netns_throughput_test: SKIPPED, cannot make a rate-limited namespace (${SKIP_REASON})`,
  );
}

/** `netspeed ARGS` inside the namespace. */
function inNamespace(ns: string, args: string[], stdout: "piped" | "null" = "piped") {
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), ...RUN_FLAGS, "main.ts", ...args],
    cwd: ROOT_DIR,
    stdout,
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  });
}

/** Reads stdout lines until every service has printed its port (bounded). */
async function servicePorts(
  server: Deno.ChildProcess,
): Promise<{ discard: number; chargen: number }> {
  const ports: Record<string, number> = {};
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => reader.cancel(), 20_000);
  let text = "";
  try {
    while (ports.discard === undefined || ports.chargen === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`serve ended before listening: ${text}`);
      text += value;
      for (const match of text.matchAll(/^(discard|chargen) listening on 127\.0\.0\.1:(\d+)/gm)) {
        ports[match[1]] = Number(match[2]);
      }
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  // Keep draining so the server never blocks on a full pipe.
  server.stdout.pipeTo(new WritableStream()).catch(() => {});
  return { discard: ports.discard, chargen: ports.chargen };
}

Deno.test({
  name: "throughput measures a 200 Mbit/s tbf loopback within 5%, up and down",
  ignore: SKIP_REASON !== null,
  async fn() {
    const ns = `netspeed-tbf-${Deno.pid}-${Math.floor(Math.random() * 1e6)}`;
    await using dir = await tempDir();
    let server: Deno.ChildProcess | undefined;
    try {
      const failed = makeNamespace(ns);
      assert.equal(failed, null, `cannot make the namespace: ${failed}`);
      server = inNamespace(ns, [
        ...["serve", "--port", "0", "--discard-port", "0", "--chargen-port", "0"],
      ]).spawn();
      const ports = await servicePorts(server);
      const measured: Record<string, number> = {};
      for (const direction of ["up", "down"] as const) {
        const json = join(dir.path, `${direction}.json`);
        const out = await inNamespace(ns, [
          "throughput",
          "127.0.0.1",
          ...["--direction", direction],
          ...["--discard-port", String(ports.discard), "--chargen-port", String(ports.chargen)],
          // --omit leaves out slow start and the send buffer filling.
          ...["-O", "1s", "-d", "3s", "--json", json, "--no-progress"],
        ], "null").output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        const summary = JSON.parse(await Deno.readTextFile(json));
        measured[direction] = summary.totals[direction].bitsPerSec;
      }
      console.log(
        `tbf 200 Mbit/s: up ${(measured.up / 1e6).toFixed(1)} Mbit/s, down ${
          (measured.down / 1e6).toFixed(1)
        } Mbit/s`,
      );
      for (const [direction, bps] of Object.entries(measured)) {
        const error = Math.abs(bps - RATE_BITS_PER_SEC) / RATE_BITS_PER_SEC;
        assert.ok(
          error <= TOLERANCE,
          `${direction}: ${(bps / 1e6).toFixed(1)} Mbit/s is ${
            (error * 100).toFixed(1)
          }% off 200 Mbit/s`,
        );
      }
    } finally {
      if (server) {
        try {
          server.kill("SIGTERM");
        } catch { /* already gone */ }
        await server.status;
        await server.stderr.cancel().catch(() => {});
      }
      deleteNamespace(ns);
    }
  },
});
