/**
 * Clients that misbehave on purpose, for the abuse benchmark
 * (`perf_abuse.ts`) and its quick version in the tests: idle connections,
 * writers that never read, connections reset before the server accepts
 * them, TLS handshakes that never finish, a UDP flood. Loopback only; every
 * loop is bounded in count and time.
 *
 * @module
 */

const HOST = "127.0.0.1";

/** Resident memory of a process in KiB: now (`VmRSS`) and its peak (`VmHWM`). */
export async function rssKiB(pid: number): Promise<{ nowKiB: number; peakKiB: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { nowKiB: field("VmRSS"), peakKiB: field("VmHWM") };
}

/** This process's soft limit on open files (`ulimit -n`), from /proc. */
export async function openFilesLimit(): Promise<number> {
  const limits = await Deno.readTextFile("/proc/self/limits");
  return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 1024);
}

/**
 * Time in ms for a new connection to echo 64 bytes back (connect included),
 * or Infinity if it takes longer than `timeoutMs`.
 */
export async function plainEchoMs(port: number, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), timeoutMs);
  try {
    conn = await Deno.connect({ hostname: HOST, port });
    conn.setNoDelay(true);
    const payload = crypto.getRandomValues(new Uint8Array(64));
    await conn.write(payload);
    const back = new Uint8Array(64);
    let filled = 0;
    while (filled < back.length) {
      const n = await conn.read(back.subarray(filled));
      if (n === null) return Infinity;
      filled += n;
    }
    return back.every((b, i) => b === payload[i]) ? performance.now() - started : Infinity;
  } catch {
    return Infinity;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timer */ }
  }
}

/** How a UDP echo answered: ms from the first probe to the first answer, and probes sent. */
export interface UdpEchoAnswer {
  /** Infinity when nothing came back within the time allowed. */
  ms: number;
  probes: number;
}

/**
 * Sends an echo datagram every `everyMs` until one comes back or `timeoutMs`
 * passes. UDP may drop any one datagram (a receive queue still full from a
 * flood, a busy loopback backlog), so a single unanswered probe would say
 * nothing about the server; the time counts from the first probe, so drops
 * still show in it.
 */
export async function udpEchoMs(
  port: number,
  timeoutMs = 5000,
  everyMs = 200,
): Promise<UdpEchoAnswer> {
  const socket = Deno.listenDatagram({ hostname: HOST, port: 0, transport: "udp" });
  const to: Deno.NetAddr = { transport: "udp", hostname: HOST, port };
  let probes = 0;
  const probe = () => {
    probes++;
    socket.send(new Uint8Array(32), to).catch(() => {});
  };
  const started = performance.now();
  const resend = setInterval(probe, everyMs);
  const timer = setTimeout(() => socket.close(), timeoutMs);
  try {
    probe();
    await socket.receive();
    return { ms: performance.now() - started, probes };
  } catch {
    return { ms: Infinity, probes };
  } finally {
    clearInterval(resend);
    clearTimeout(timer);
    try {
      socket.close();
    } catch { /* closed by the timer */ }
  }
}

/** Connections held open, and why opening stopped short if it did. */
export interface HeldConnections {
  conns: Deno.TcpConn[];
  /** Set when fewer than asked could be opened (e.g. EMFILE: too many open files). */
  stoppedBy?: string;
  close(): void;
}

/** Opens `count` connections that send nothing (a few at a time, so the listen queue keeps up). */
export async function openIdle(port: number, count: number): Promise<HeldConnections> {
  const conns: Deno.TcpConn[] = [];
  let stoppedBy: string | undefined;
  const batch = 100;
  for (let i = 0; i < count && !stoppedBy; i += batch) {
    const results = await Promise.allSettled(
      Array.from(
        { length: Math.min(batch, count - i) },
        () => Deno.connect({ hostname: HOST, port }),
      ),
    );
    for (const result of results) {
      if (result.status === "fulfilled") conns.push(result.value);
      else stoppedBy ??= (result.reason as Error).message;
    }
  }
  return { conns, stoppedBy, close: () => conns.forEach(closeQuietly) };
}

/**
 * `clients` connections write to echo for `durationMs` and never read: the
 * server's buffers fill and TCP flow control must stop them, not its memory.
 * Resolves with the bytes the clients managed to hand to their sockets.
 */
export async function pushNeverRead(
  port: number,
  clients: number,
  durationMs: number,
): Promise<number> {
  const held = await openIdle(port, clients);
  const chunk = new Uint8Array(64 * 1024);
  let pushed = 0;
  const deadline = performance.now() + durationMs;
  await Promise.all(held.conns.map(async (conn) => {
    while (performance.now() < deadline) {
      // A write blocks once the buffers are full: wait for it at most until the deadline.
      const wrote = await Promise.race([
        conn.write(chunk).catch(() => -1),
        new Promise<number>((resolve) =>
          setTimeout(() => resolve(0), Math.max(1, deadline - performance.now()))
        ),
      ]);
      if (wrote < 0) return;
      pushed += wrote;
    }
  }));
  held.close();
  return pushed;
}

/**
 * `count` connections that each send 4 KiB and close with a reset
 * (`SO_LINGER` 0) right after connecting, most before the server has
 * accepted them. Deno cannot set `SO_LINGER`; Python's socket module can.
 */
export async function resetBeforeAccept(port: number, count: number): Promise<void> {
  const script = `
import socket, struct, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
payload = b"x" * 4096
for _ in range(count):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.connect(("${HOST}", port))
    s.send(payload)
    s.close()
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script, String(port), String(count)],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  if (out.code !== 0) {
    throw new Error(`The reset client failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * `count` connections to a TLS port that send the first bytes of a
 * ClientHello and then nothing: handshakes that never finish.
 */
export async function stalledTlsHandshakes(port: number, count: number): Promise<HeldConnections> {
  const held = await openIdle(port, count);
  // A TLS record header announcing a 512-byte handshake message, and 4 of those bytes.
  const partial = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]);
  await Promise.all(held.conns.map((conn) => conn.write(partial).catch(() => 0)));
  return held;
}

/** Sends `count` datagrams of `bytes` to a UDP port as fast as one socket can; resolves with the time taken. */
export async function udpFlood(port: number, count: number, bytes = 64): Promise<number> {
  const socket = Deno.listenDatagram({ hostname: HOST, port: 0, transport: "udp" });
  const to: Deno.NetAddr = { transport: "udp", hostname: HOST, port };
  const datagram = new Uint8Array(bytes);
  const started = performance.now();
  try {
    for (let i = 0; i < count; i++) await socket.send(datagram, to);
  } finally {
    socket.close();
  }
  return performance.now() - started;
}

/**
 * Spawns `netspeed serve ARGS` with `ulimit -n` at `openFiles` (default:
 * raised to the hard limit, so 10,000 connections fit); resolves with its
 * echo port once every thread listens.
 */
export async function spawnServe(
  args: string[],
  openFiles?: number,
  main = new URL("../main.ts", import.meta.url).pathname,
): Promise<AsyncDisposable & { process: Deno.ChildProcess; port: number; lines: string[] }> {
  const deno = Deno.execPath();
  const process = new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -n ${openFiles ?? '"$(ulimit -Hn)"'} 2>/dev/null; exec "$0" run --allow-all "$@"`,
      deno,
      main,
      "serve",
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines: string[] = [];
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const reading = (async () => {
    let rest = "";
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += value;
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
    }
    if (rest) lines.push(rest);
  })();
  const deadline = performance.now() + 20_000;
  let port = 0;
  while (!port) {
    const match = lines.map((l) => /^echo listening on .*:(\d+) \(tcp\)/.exec(l)).find(Boolean);
    if (match) port = Number(match[1]);
    else if (performance.now() > deadline) {
      process.kill("SIGKILL");
      throw new Error(`serve did not start: ${lines.join(" | ")}`);
    } else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Wait for every thread's listener: the "threads:" line comes after all of
  // them bound (a netspeed from before --threads prints none: a short wait).
  const threadsBy = Math.min(deadline, performance.now() + 1000);
  while (!lines.some((l) => l.startsWith("threads:")) && performance.now() < threadsBy) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    process,
    port,
    lines,
    async [Symbol.asyncDispose]() {
      try {
        process.kill("SIGKILL");
      } catch { /* gone */ }
      await process.status;
      await reading.catch(() => {});
    },
  };
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
