/**
 * Network namespaces made by the tests themselves, with a rate-limited
 * loopback (`tc … tbf`): the ground truth for throughput and bufferbloat.
 * Only 127.0.0.1 inside the namespace is ever used.
 *
 * @module
 */
import { ROOT_DIR, RUN_FLAGS } from "./helpers.ts";

/** A token bucket on the namespace's loopback, in tc's own words. */
export interface TbfLimit {
  rate: string;
  burst: string;
  latency: string;
}

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
export function makeNamespace(name: string, limit: TbfLimit): string | null {
  const steps: [string, string[]][] = [
    ["ip", ["netns", "add", name]],
    ["ip", ["-n", name, "link", "set", "lo", "up"]],
    // At lo's default MTU of 65536 every packet is larger than the bucket and
    // tbf drops it; at 1500 headers and ACKs alone cost 5-6% of the rate.
    ["ip", ["-n", name, "link", "set", "lo", "mtu", "9000"]],
    [
      "ip",
      [
        ...["netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "tbf"],
        ...["rate", limit.rate, "burst", limit.burst, "latency", limit.latency],
      ],
    ],
  ];
  for (const [cmd, args] of steps) {
    const out = run(cmd, args);
    if (!out.ok) return `${cmd} ${args.join(" ")}: ${out.stderr || "failed"}`;
  }
  return null;
}

/** Removes a namespace (and everything in it). */
export function deleteNamespace(name: string): void {
  run("ip", ["netns", "del", name]);
}

/** Why this machine cannot make such a namespace (not root, no `ip`/`tc`), or null. */
export function whyNoNamespace(limit: TbfLimit): string | null {
  if (Deno.build.os !== "linux") return "network namespaces are Linux only";
  if (Deno.uid() !== 0) return "not root";
  const probe = `netspeed-probe-${Deno.pid}-${Math.floor(Math.random() * 1e6)}`;
  const failed = makeNamespace(probe, limit);
  deleteNamespace(probe);
  return failed;
}

/** `netspeed ARGS` inside the namespace. */
export function inNamespace(
  ns: string,
  args: string[],
  stdout: "piped" | "null" = "piped",
): Deno.Command {
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), ...RUN_FLAGS, "main.ts", ...args],
    cwd: ROOT_DIR,
    stdout,
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  });
}

/** `serve` with echo, discard and chargen on free ports, inside a namespace. */
export interface NamespacedServer extends AsyncDisposable {
  ports: { echo: number; discard: number; chargen: number };
}

/** Starts `serve` in the namespace and waits for its three ports (bounded). */
export async function serveInNamespace(ns: string): Promise<NamespacedServer> {
  const server = inNamespace(ns, [
    ...["serve", "--port", "0", "--discard-port", "0", "--chargen-port", "0"],
  ]).spawn();
  const stop = async () => {
    try {
      server.kill("SIGTERM");
    } catch { /* already gone */ }
    await server.status;
    await server.stderr.cancel().catch(() => {});
  };
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
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  // Keep draining so the server never blocks on a full pipe.
  server.stdout.pipeTo(new WritableStream()).catch(() => {});
  return {
    ports: { echo: ports.echo, discard: ports.discard, chargen: ports.chargen },
    [Symbol.asyncDispose]: stop,
  };
}
