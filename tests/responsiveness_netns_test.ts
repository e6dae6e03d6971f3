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
import { tempDir } from "./helpers.ts";
import {
  deleteNamespace,
  inNamespace,
  makeNamespace,
  serveInNamespace,
  type TbfLimit,
  whyNoNamespace,
} from "./netns.ts";

const LIMIT: TbfLimit = { rate: "20mbit", burst: "32kb", latency: "100ms" };

const SKIP_REASON = whyNoNamespace(LIMIT);
if (SKIP_REASON) {
  console.log(
    `responsiveness_netns_test: SKIPPED, cannot make a bloated namespace (${SKIP_REASON})`,
  );
}

Deno.test({
  name: "responsiveness sees a 100 ms bloated buffer fill under load and its RPM fall",
  ignore: SKIP_REASON !== null,
  async fn() {
    const ns = `netspeed-rpm-${Deno.pid}-${Math.floor(Math.random() * 1e6)}`;
    await using dir = await tempDir();
    try {
      const failed = makeNamespace(ns, LIMIT);
      assert.equal(failed, null, `cannot make the namespace: ${failed}`);
      await using server = await serveInNamespace(ns);
      const { ports } = server;
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
      deleteNamespace(ns);
    }
  },
});
