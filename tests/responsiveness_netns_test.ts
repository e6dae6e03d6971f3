/**
 * Ground truth for `netspeed responsiveness`: a bloated buffer whose size
 * is known. In a network namespace made by the test, the loopback is
 * limited to 20 Mbit/s by a token bucket that queues up to 100 ms of data
 * (`tc qdisc add dev lo root tbf rate 20mbit burst 32kb latency 100ms`);
 * `serve` and `responsiveness` both run inside it on 127.0.0.1. Idle, a
 * probe finds the queue empty; under load every packet waits behind up
 * to 100 ms of data on each pass through it, so loaded round trips grow
 * by tens of milliseconds and the RPM falls by more than ten times.
 *
 * Needs root, `ip` and `tc`; skips with a plain message otherwise.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT_DIR, RUN_FLAGS, tempDir } from "./helpers.ts";

function run(cmd: string, args: string[]): { ok: boolean; stderr: string } {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped", stdin: "null" })
      .outputSync();
    return { ok: out.success, stderr: new TextDecoder().decode(out.stderr).trim() };
  } catch (error) {
    return { ok: false, stderr: (error as Error).message };
  }
}

/** Makes the namespace with its bloated loopback; returns why it could not, or null. */
function makeNamespace(name: string): string | null {
  const steps: [string, string[]][] = [
    ["ip", ["netns", "add", name]],
    ["ip", ["-n", name, "link", "set", "lo", "up"]],
    // At the default MTU of 65536 every packet is larger than the bucket and tbf drops it.
    ["ip", ["-n", name, "link", "set", "lo", "mtu", "9000"]],
    [
      "ip",
      [
        ...["netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "tbf"],
        ...["rate", "20mbit", "burst", "32kb", "latency", "100ms"],
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

function whyNot(): string | null {
  if (Deno.build.os !== "linux") return "network namespaces are Linux only";
  if (Deno.uid() !== 0) return "not root";
  const probe = `netspeed-rpm-probe-${Deno.pid}`;
  const failed = makeNamespace(probe);
  deleteNamespace(probe);
  return failed;
}

const SKIP_REASON = whyNot();
if (SKIP_REASON) {
  console.log(
    `responsiveness_netns_test: SKIPPED, cannot make a bloated namespace (${SKIP_REASON})`,
  );
}

/** `netspeed ARGS` inside the namespace. */
function inNamespace(ns: string, args: string[]): Deno.Command {
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), ...RUN_FLAGS, "main.ts", ...args],
    cwd: ROOT_DIR,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  });
}

/** Reads stdout until the three services have printed their ports (bounded). */
async function servicePorts(server: Deno.ChildProcess): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => reader.cancel(), 20_000);
  let text = "";
  try {
    while (Object.keys(ports).length < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`serve ended before listening: ${text}`);
      text += value;
      for (const m of text.matchAll(/^(echo|discard|chargen) listening on 127\.0\.0\.1:(\d+)/gm)) {
        ports[m[1]] = Number(m[2]);
      }
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  server.stdout.pipeTo(new WritableStream()).catch(() => {});
  return ports;
}

Deno.test({
  name: "responsiveness sees a 100 ms bloated buffer fill under load and its RPM fall",
  ignore: SKIP_REASON !== null,
  async fn() {
    const ns = `netspeed-rpm-${Deno.pid}-${Math.floor(Math.random() * 1e6)}`;
    await using dir = await tempDir();
    let server: Deno.ChildProcess | undefined;
    try {
      const failed = makeNamespace(ns);
      assert.equal(failed, null, `cannot make the namespace: ${failed}`);
      server = inNamespace(ns, [
        "serve",
        ...["--port", "0", "--discard-port", "0", "--chargen-port", "0"],
      ]).spawn();
      const ports = await servicePorts(server);
      const jsonPath = join(dir.path, "rpm.json");
      const out = await inNamespace(ns, [
        "responsiveness",
        "127.0.0.1",
        ...["--echo-port", String(ports.echo), "--discard-port", String(ports.discard)],
        ...["--chargen-port", String(ports.chargen), "--idle", "1s", "--loaded", "3s", "-P", "2"],
        ...["--json", jsonPath, "--no-progress"],
      ]).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) + stdout);
      const s = JSON.parse(await Deno.readTextFile(jsonPath));
      const ms = (us: number) => (us / 1000).toFixed(2);
      const idle = s.idle.probes.self.rtt.p50Us;
      const loaded = s.loaded.probes.self.rtt.p50Us;
      // Idle: an empty queue. Loaded: up to 100 ms per pass and two passes per round
      // trip (measured: about 190 ms); the bounds are wide, the tenfold gap is not.
      assert.ok(idle < 10_000, `idle self p50 ${ms(idle)} ms`);
      assert.ok(loaded > 50_000 && loaded < 1_000_000, `loaded self p50 ${ms(loaded)} ms`);
      assert.ok(loaded > 10 * idle);
      const rpm = s.idle.responsiveness.rpm / s.loaded.responsiveness.rpm;
      assert.ok(rpm > 10, `idle/loaded RPM ${rpm.toFixed(1)}`);
      // The load filled the 20 Mbit/s link: both directions share the one loopback queue
      // (upload counts what the socket took, so its buffer adds a little).
      const loadBits = s.load.upBitsPerSec + s.load.downBitsPerSec;
      assert.ok(loadBits > 10e6 && loadBits < 40e6, `load ${(loadBits / 1e6).toFixed(1)} Mbit/s`);
    } finally {
      if (server) {
        try {
          server.kill("SIGTERM");
        } catch { /* already gone */ }
        await server.status;
      }
      deleteNamespace(ns);
    }
  },
});
