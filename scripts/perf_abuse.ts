/**
 * `deno task perf:abuse`: `netspeed serve` against clients that misbehave,
 * phase after phase, on one server that keeps every earlier phase's
 * connections: 10,000 idle connections; 50 clients that push and never
 * read for 5 s; 500 connections reset before accept; 200 TLS handshakes
 * that never finish; a UDP flood above the rate limit. After each phase a
 * plain echo on a new connection must answer within 100 ms; at the end the
 * server must still answer and stop on SIGTERM within 2 s with its totals.
 * Prints the peak RSS.
 *
 * Options: `--idle 10000 --pushers 50 --push-seconds 5 --resets 500 --tls 200
 * --datagrams 100000 --threads <cores>`. The tests run it with small counts.
 *
 * @module
 */
import {
  openIdle,
  plainEchoMs,
  pushNeverRead,
  resetBeforeAccept,
  rssKiB,
  spawnServe,
  stalledTlsHandshakes,
  type UdpEchoAnswer,
  udpEchoMs,
  udpFlood,
} from "./abuse_clients.ts";

/** How hard each phase pushes. */
export interface AbuseCounts {
  idle: number;
  pushers: number;
  pushSeconds: number;
  resets: number;
  tls: number;
  datagrams: number;
  /** `serve --threads`; undefined: its default (every core). */
  threads?: number;
}

/** The issue's figures. */
export const FULL_COUNTS: AbuseCounts = {
  idle: 10_000,
  pushers: 50,
  pushSeconds: 5,
  resets: 500,
  tls: 200,
  datagrams: 100_000,
};

/** What one phase did to the server. */
export interface PhaseResult {
  phase: string;
  /** What the phase managed to do (connections opened, bytes pushed …). */
  detail: string;
  /** A plain echo on a new connection right after the phase, in ms (Infinity: no answer). */
  echoMs: number;
  rssKiB: number;
}

/** The whole run. */
export interface AbuseResult {
  phases: PhaseResult[];
  /** Peak resident memory of the server process (VmHWM). */
  peakRssKiB: number;
  /** The UDP echo after the flood: ms to the first answer and probes sent. */
  udpEcho: UdpEchoAnswer;
  /** Exit code and time from SIGTERM to exit, with every connection still open. */
  stop: { code: number; ms: number; totalsPrinted: boolean };
  stdout: string;
}

/** Runs every phase against a fresh `serve`; never throws for a slow or dead server, it reports it. */
export async function runAbuse(counts: AbuseCounts): Promise<AbuseResult> {
  const dir = await Deno.makeTempDir({ prefix: "netspeed-abuse-" });
  const held: { close(): void }[] = [];
  try {
    const cert = `${dir}/cert.pem`;
    const key = `${dir}/key.pem`;
    const openssl = await new Deno.Command("openssl", {
      args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        .concat(["-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"]),
      stdout: "null",
      stderr: "null",
    }).output();
    if (openssl.code !== 0) throw new Error("openssl could not make a test certificate");
    const threads = counts.threads === undefined ? [] : ["--threads", String(counts.threads)];
    const server = await spawnServe([
      "--port",
      "0",
      "--no-discard",
      "--no-chargen",
      "--tls-cert",
      cert,
      "--tls-key",
      key,
      "--tls-port",
      "0",
      "--udp",
      "--max-connections",
      String(counts.idle + counts.pushers + counts.tls + 1000),
      "--idle-timeout",
      "0",
      ...threads,
    ]);
    const pid = server.process.pid;
    const tlsPort = Number(
      server.lines.map((l) => /^tls-echo listening on .*:(\d+)/.exec(l)).find(Boolean)?.[1],
    );
    const phases: PhaseResult[] = [];
    const after = async (phase: string, detail: string) => {
      const echoMs = await plainEchoMs(server.port);
      phases.push({ phase, detail, echoMs, rssKiB: (await rssKiB(pid)).nowKiB });
    };
    await after("start", "");

    const idle = await openIdle(server.port, counts.idle);
    held.push(idle);
    // Let the server accept the last of them before measuring.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await after(
      "idle connections",
      `${idle.conns.length} open${idle.stoppedBy ? ` (stopped: ${idle.stoppedBy})` : ""}`,
    );

    const pushed = await pushNeverRead(server.port, counts.pushers, counts.pushSeconds * 1000);
    await after(
      "push, never read",
      `${counts.pushers} clients pushed ${
        (pushed / 2 ** 20).toFixed(1)
      } MiB in ${counts.pushSeconds} s`,
    );

    await resetBeforeAccept(server.port, counts.resets);
    await after("reset before accept", `${counts.resets} connections`);

    const tls = await stalledTlsHandshakes(tlsPort, counts.tls);
    held.push(tls);
    await after("stalled TLS handshakes", `${tls.conns.length} open`);

    const floodMs = await udpFlood(server.port, counts.datagrams);
    await after(
      "UDP flood",
      `${counts.datagrams} datagrams at ${
        Math.round(counts.datagrams / (floodMs / 1000))
      }/s (limit 20000/s)`,
    );
    const udpEcho = await udpEchoMs(server.port);

    const peakRssKiB = (await rssKiB(pid)).peakKiB;
    const stopStarted = performance.now();
    server.process.kill("SIGTERM");
    const timer = setTimeout(() => server.process.kill("SIGKILL"), 10_000);
    const status = await server.process.status;
    clearTimeout(timer);
    const stopMs = performance.now() - stopStarted;
    await server[Symbol.asyncDispose]();
    const stdout = server.lines.join("\n");
    return {
      phases,
      peakRssKiB,
      udpEcho,
      stop: { code: status.code, ms: stopMs, totalsPrinted: /^echo +[\d,]+ /m.test(stdout) },
      stdout,
    };
  } finally {
    for (const h of held) h.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The result as the lines the benchmark prints. */
export function formatAbuse(result: AbuseResult): string {
  const lines = result.phases.map((p) =>
    `${p.phase.padEnd(24)} echo ${
      Number.isFinite(p.echoMs) ? `${p.echoMs.toFixed(1)} ms` : "NO ANSWER"
    }${p.echoMs < 100 ? "" : " (over 100 ms)"}  RSS ${
      (p.rssKiB / 1024).toFixed(0)
    } MiB  ${p.detail}`
  );
  lines.push(
    `UDP echo after the flood: ${result.udpEcho.ms.toFixed(1)} ms (${result.udpEcho.probes} probe${
      result.udpEcho.probes === 1 ? "" : "s"
    } sent)`,
  );
  lines.push(`Peak RSS of the server: ${(result.peakRssKiB / 1024).toFixed(0)} MiB`);
  lines.push(
    `SIGTERM with every connection open: exit ${result.stop.code} after ${
      result.stop.ms.toFixed(0)
    } ms, totals ${result.stop.totalsPrinted ? "printed" : "MISSING"}`,
  );
  return lines.join("\n");
}

if (import.meta.main) {
  const counts = { ...FULL_COUNTS };
  for (let i = 0; i < Deno.args.length; i += 2) {
    const key = Deno.args[i].replace(/^--/, "").replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (!(key in counts) && key !== "threads") throw new Error(`Unknown option ${Deno.args[i]}`);
    (counts as Record<string, number>)[key] = Number(Deno.args[i + 1]);
  }
  console.log(`netspeed serve under abuse: ${JSON.stringify(counts)}`);
  const result = await runAbuse(counts);
  console.log(formatAbuse(result));
  console.log(
    result.stdout.split("\n").filter((l) =>
      /^(echo|tls-echo|udp-echo)\b/.test(l) && !/listening/.test(l)
    ).join("\n"),
  );
  const ok = result.phases.every((p) => p.echoMs < 100) && result.stop.code === 0;
  console.log(ok ? "Every phase: echo within 100 ms." : "Some phase missed the 100 ms echo.");
}
