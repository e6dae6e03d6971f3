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
import { tempDir } from "./helpers.ts";
import {
  deleteNamespace,
  inNamespace,
  makeNamespace,
  serveInNamespace,
  type TbfLimit,
  whyNoNamespace,
} from "./netns.ts";

const RATE_BITS_PER_SEC = 200e6;
const TOLERANCE = 0.05;
const LIMIT: TbfLimit = { rate: "200mbit", burst: "64kb", latency: "50ms" };

/** Above this share of the CPUs' time stolen by the hypervisor, a try is the host's, not the tool's. */
const STOLEN_SHARE = 0.03;

/** The CPUs' steal time so far (`/proc/stat`, in clock ticks of 10 ms), and when it was read. */
interface StealReading {
  ticks: number;
  atMs: number;
}

function readSteal(): StealReading {
  const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/);
  return { ticks: Number(fields[8] ?? 0), atMs: performance.now() };
}

/** The share of all CPUs' time the hypervisor took between two readings. */
function stolenShare(before: StealReading, after: StealReading): number {
  const cpuMs = (after.atMs - before.atMs) * navigator.hardwareConcurrency;
  return cpuMs > 0 ? ((after.ticks - before.ticks) * 10) / cpuMs : 0;
}

const SKIP_REASON = whyNoNamespace(LIMIT);
if (SKIP_REASON) {
  console.log(
    `netns_throughput_test: SKIPPED, cannot make a rate-limited namespace (${SKIP_REASON})`,
  );
}

Deno.test({
  name: "throughput measures a 200 Mbit/s tbf loopback within 5%, up and down",
  ignore: SKIP_REASON !== null,
  async fn() {
    const ns = `netspeed-tbf-${Deno.pid}-${Math.floor(Math.random() * 1e6)}`;
    await using dir = await tempDir();
    try {
      const failed = makeNamespace(ns, LIMIT);
      assert.equal(failed, null, `cannot make the namespace: ${failed}`);
      await using server = await serveInNamespace(ns);
      const { ports } = server;
      const measured: Record<string, number> = {};
      const measure = async (direction: "up" | "down"): Promise<number> => {
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
        return summary.totals[direction].bitsPerSec;
      };
      const offBy = (bps: number) => Math.abs(bps - RATE_BITS_PER_SEC) / RATE_BITS_PER_SEC;
      for (const direction of ["up", "down"] as const) {
        // `deno task test` runs this file after the parallel ones, alone (with
        // the others, all six tries of one run once read 149-189 Mbit/s). A try
        // that misses gets up to two more; one during which the hypervisor took
        // a share of the CPUs (steal time) does not count among those three, up
        // to six in all. A tool that measures wrong fails every try.
        const tries: { bps: number; steal: number }[] = [];
        let counted = 0;
        while (true) {
          const before = readSteal();
          const bps = await measure(direction);
          const steal = stolenShare(before, readSteal());
          tries.push({ bps, steal });
          if (steal <= STOLEN_SHARE) counted++;
          if (offBy(bps) <= TOLERANCE || counted >= 3 || tries.length >= 6) break;
        }
        if (tries.length > 1) {
          const shown = tries.map((t) =>
            `${(t.bps / 1e6).toFixed(1)} (steal ${(t.steal * 100).toFixed(1)}%)`
          );
          console.log(`${direction}: tries ${shown.join(", ")}`);
        }
        measured[direction] = tries.at(-1)!.bps;
      }
      console.log(
        `tbf 200 Mbit/s: up ${(measured.up / 1e6).toFixed(1)} Mbit/s, down ${
          (measured.down / 1e6).toFixed(1)
        } Mbit/s`,
      );
      for (const [direction, bps] of Object.entries(measured)) {
        const error = offBy(bps);
        assert.ok(
          error <= TOLERANCE,
          `${direction}: ${(bps / 1e6).toFixed(1)} Mbit/s is ${
            (error * 100).toFixed(1)
          }% off 200 Mbit/s`,
        );
      }
    } finally {
      deleteNamespace(ns);
    }
  },
});
