/**
 * Prometheus helpers for tests: free ports, reading an exposition, and
 * Prometheus's own promtool.
 *
 * @module
 */

/** Free loopback ports, found by binding port 0 (TCP and UDP) and letting go. */
export function freePorts(n: number): number[] {
  const ports: number[] = [];
  while (ports.length < n) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    try {
      Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" }).close();
    } catch {
      continue;
    }
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

/** Parses a Prometheus exposition into `name{labels}` → value. */
export function parseExposition(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** Runs `promtool check metrics` on an exposition. */
export async function promtoolCheck(exposition: string): Promise<{ ok: boolean; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  writer.write(new TextEncoder().encode(exposition));
  writer.close();
  const out = await child.output();
  const d = new TextDecoder();
  return { ok: out.success, output: d.decode(out.stdout) + d.decode(out.stderr) };
}

/** Whether Prometheus's promtool is installed. */
export function hasPromtool(): boolean {
  try {
    return new Deno.Command("promtool", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
