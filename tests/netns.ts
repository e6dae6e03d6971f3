/**
 * Network namespaces made by the tests themselves, with a rate-limited
 * loopback (`tc … tbf`): the ground truth for throughput and bufferbloat.
 * Only 127.0.0.1 inside the namespace is ever used.
 *
 * @module
 */
import { join } from "node:path";
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

/** `netspeed ARGS` inside the namespace, run from `cwd` (default: the repository). */
export function inNamespace(
  ns: string,
  args: string[],
  stdout: "piped" | "null" = "piped",
  { cwd = ROOT_DIR, env = {} }: { cwd?: string; env?: Record<string, string> } = {},
): Deno.Command {
  return new Deno.Command("ip", {
    args: [
      ...["netns", "exec", ns, Deno.execPath(), ...RUN_FLAGS],
      ...["--config", join(ROOT_DIR, "deno.json"), join(ROOT_DIR, "main.ts"), ...args],
    ],
    cwd,
    stdout,
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1", ...env },
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

/** One host of a {@linkcode Fleet}: its namespace and its address on the bridge. */
export interface FleetHost {
  ns: string;
  address: string;
}

/**
 * A small network of namespaces: a server and N clients, each with one
 * veth `eth0` plugged into a bridge that lives in a namespace of its own,
 * so nothing is added to the machine's own namespace. Addresses are
 * 10.77.0.0/24 and exist only inside these namespaces.
 */
export interface Fleet extends AsyncDisposable {
  /** The namespace holding the bridge `br0` and the hosts' peer ends `p0` … `pN`. */
  switchNs: string;
  server: FleetHost;
  clients: FleetHost[];
}

/** How {@linkcode makeFleet} builds the network. */
export interface FleetPlan {
  clients: number;
  /**
   * Clients (0-based) whose link is shaped with this token bucket both
   * ways: on their `eth0` (to the server) and on their bridge port (from it).
   */
  shaped?: { clients: number[]; limit: TbfLimit };
}

/** Namespace name prefix of a fleet made by this process: unique per process and call. */
let fleetCount = 0;

/**
 * Builds the fleet; returns why it could not (the namespaces made so far
 * are removed then). Dispose of it to remove every namespace.
 */
export function makeFleet(plan: FleetPlan): Fleet | string {
  const prefix = `nsf-${Deno.pid}-${fleetCount++}`;
  const switchNs = `${prefix}-sw`;
  const hosts = [
    `${prefix}-srv`,
    ...Array.from({ length: plan.clients }, (_, i) => `${prefix}-c${i}`),
  ];
  const made: string[] = [];
  const removeAll = () => {
    for (const ns of made.reverse()) deleteNamespace(ns);
  };
  const step = (cmd: string, args: string[]): string | null => {
    const out = run(cmd, args);
    return out.ok ? null : `${cmd} ${args.join(" ")}: ${out.stderr || "failed"}`;
  };
  const steps: [string, string[]][] = [];
  const addNs = (ns: string) => {
    const failed = step("ip", ["netns", "add", ns]);
    if (!failed) made.push(ns);
    return failed ?? step("ip", ["-n", ns, "link", "set", "lo", "up"]);
  };
  let failed = addNs(switchNs);
  if (failed) return (removeAll(), failed);
  steps.push(
    ["ip", ["-n", switchNs, "link", "add", "br0", "type", "bridge"]],
    ["ip", ["-n", switchNs, "link", "set", "br0", "up"]],
  );
  hosts.forEach((ns, k) => {
    steps.push(
      ["ip", [
        "-n",
        switchNs,
        "link",
        "add",
        `p${k}`,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        ns,
      ]],
      ["ip", ["-n", switchNs, "link", "set", `p${k}`, "master", "br0"]],
      ["ip", ["-n", switchNs, "link", "set", `p${k}`, "up"]],
      ["ip", ["-n", ns, "addr", "add", `10.77.0.${k + 1}/24`, "dev", "eth0"]],
      ["ip", ["-n", ns, "link", "set", "eth0", "up"]],
    );
  });
  for (const client of plan.shaped?.clients ?? []) {
    const { rate, burst, latency } = plan.shaped!.limit;
    const tbf = ["root", "tbf", "rate", rate, "burst", burst, "latency", latency];
    steps.push(
      ["ip", ["netns", "exec", hosts[client + 1], "tc", "qdisc", "add", "dev", "eth0", ...tbf]],
      ["ip", ["netns", "exec", switchNs, "tc", "qdisc", "add", "dev", `p${client + 1}`, ...tbf]],
    );
  }
  for (const ns of hosts) {
    failed = addNs(ns);
    if (failed) return (removeAll(), failed);
  }
  for (const [cmd, args] of steps) {
    failed = step(cmd, args);
    if (failed) return (removeAll(), failed);
  }
  const host = (k: number): FleetHost => ({ ns: hosts[k], address: `10.77.0.${k + 1}` });
  return {
    switchNs,
    server: host(0),
    clients: Array.from({ length: plan.clients }, (_, i) => host(i + 1)),
    [Symbol.asyncDispose]: () => Promise.resolve(removeAll()),
  };
}

/** Why this machine cannot build a {@linkcode Fleet} (not root, no bridge or tbf), or null. */
export async function whyNoFleet(limit: TbfLimit): Promise<string | null> {
  if (Deno.build.os !== "linux") return "network namespaces are Linux only";
  if (Deno.uid() !== 0) return "not root";
  const fleet = makeFleet({ clients: 1, shaped: { clients: [0], limit } });
  if (typeof fleet === "string") return fleet;
  await fleet[Symbol.asyncDispose]();
  return null;
}
