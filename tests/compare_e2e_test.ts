/**
 * `netspeed compare` end to end: runs against echo servers whose delay the
 * test sets (5.0 ms and 5.5 ms), repeated runs of one configuration against
 * one `serve` (the false-verdict rate), a run too short for p99.9, CSV and
 * JSON inputs agreeing, gates and bad input.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CliResult, ROOT_DIR, RUN_FLAGS, runCli, startServe, tempDir } from "./helpers.ts";
import { loadSide } from "../lib/compare/inputs.ts";
import { type CompareRun, compareRuns } from "../lib/compare/comparison.ts";
import { formatComparison } from "../lib/compare/format.ts";
import { seededRandom } from "../lib/report/reservoir.ts";

/**
 * CPU priority of the processes of the delay test: ahead of the other test
 * files running in parallel on two cores, whose load would otherwise reach
 * p90. Where the system refuses (not root), they run at the normal one.
 */
const NICE = ["nice", "-n", "-10"];

/** `runCli` at {@linkcode NICE} priority. */
async function runCliNiced(args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(NICE[0], {
    args: [...NICE.slice(1), Deno.execPath(), ...RUN_FLAGS, "main.ts", ...args],
    cwd: ROOT_DIR,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  // GNU nice runs the command anyway when it may not raise the priority, and says so.
  const stderr = decoder.decode(out.stderr).replace(/^nice: cannot set niceness[^\n]*\n/, "");
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr };
}

/**
 * tests/delay_echo_server.ts (the helpers' exact-delay echo server) in a
 * process of its own at {@linkcode NICE} priority.
 */
async function delayEchoServer(delayMs: number): Promise<AsyncDisposable & { port: number }> {
  const child = new Deno.Command(NICE[0], {
    args: [
      ...NICE.slice(1),
      Deno.execPath(),
      "run",
      "--allow-net",
      "tests/delay_echo_server.ts",
      String(delayMs),
    ],
    cwd: ROOT_DIR,
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The ${delayMs} ms echo server exited before listening`);
    text += value;
  }
  await reader.cancel().catch(() => {});
  return {
    port: Number(text.trim()),
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

/** Runs `latency` against `port`, writing `name`.csv and `name`.json in `dir`. */
async function latencyRun(
  dir: string,
  name: string,
  port: number,
  args: string[],
  run: (args: string[]) => Promise<CliResult> = runCli,
) {
  const csv = join(dir, `${name}.csv`);
  const json = join(dir, `${name}.json`);
  const result = await run([
    "latency",
    `127.0.0.1:${port}`,
    ...args,
    "--warmup",
    "5",
    "--csv",
    csv,
    "--json",
    json,
    "--no-progress",
  ]);
  assert.equal(result.code, 0, result.stderr);
  return { csv, json };
}

/** How far an interval may end from the true +0.5 ms and still bracket it (see its use). */
const BRACKET_SLACK_US = 50;

Deno.test("netspeed compare calls 5.0 ms against 5.5 ms echo servers worse at p50 (p90 worse or, on a noisy host, no difference), bracketing +0.5 ms within 50 µs", async () => {
  await using dir = await tempDir();
  await using fast = await delayEchoServer(5.0);
  await using slow = await delayEchoServer(5.5);
  type Row = {
    verdict: string;
    low: number;
    high: number;
    base: number;
    new: number;
    method: string;
  };
  const row = (c: { rows: Record<string, unknown>[] }, metric: string) =>
    c.rows.find((r) => r.metric === metric) as unknown as Row;
  const csvs = (runs: { csv: string }[]) => runs.map((r) => r.csv).join(",");
  const jsons = (runs: { json: string }[]) => runs.map((r) => r.json).join(",");
  const out = join(dir.path, "compare.json");
  let base: { csv: string; json: string }[] = [];
  let next: { csv: string; json: string }[] = [];
  let result: Awaited<ReturnType<typeof runCli>>;
  let written: { rows: Record<string, unknown>[]; command: string };
  // The suite runs test files in parallel on two cores: runs that other tests starved of CPU
  // (a wide, inconclusive interval) get at most two more tries; a wrong verdict fails at once.
  for (let attempt = 1;; attempt++) {
    base = [];
    next = [];
    // Interleaved, so both sides see the same machine; one connection, as the exact delay spins.
    // The client busy-polls: a client that sleeps through the hold wakes later after a longer
    // sleep (the VM deschedules an idle vCPU), which adds tens of µs to the 5.5 ms side and
    // would move the truth off +0.5 ms.
    const client = Deno.build.os === "linux" ? ["-n", "250", "--busy-poll"] : ["-n", "250"];
    for (let i = 0; i < 5; i++) {
      base.push(await latencyRun(dir.path, `base${i}`, fast.port, client, runCliNiced));
      next.push(await latencyRun(dir.path, `new${i}`, slow.port, client, runCliNiced));
    }
    result = await runCli([
      "compare",
      csvs(base),
      csvs(next),
      "--json",
      out,
      "--fail-if",
      "p50 > +50%",
    ]);
    console.log(result.stdout);
    assert.equal(result.code, 0, result.stderr);
    written = JSON.parse(await Deno.readTextFile(out));
    const inconclusive = ["p50", "p90"].some((m) => row(written, m).verdict === "no difference");
    if (!inconclusive || attempt === 3) break;
    console.log(`Attempt ${attempt} inconclusive (a loaded machine): trying again`);
  }
  assert.equal(written.command, "compare");
  for (const metric of ["p50", "p90"]) {
    const r = row(written, metric);
    // p90 of 250 round trips a run moves with the host: through a minute of a noisy host all three
    // tries read "no difference" with intervals that held +0.5 ms, which is compare being honest.
    // So p90 may say that, p50 may not, and neither may ever call the slower server better.
    const allowed = metric === "p50" ? ["worse"] : ["worse", "no difference"];
    assert.ok(allowed.includes(r.verdict), `${metric}: ${JSON.stringify(r)}`);
    assert.equal(r.method, "between runs");
    // A 95% interval misses the truth in one run of twenty by design (and the servers' delays are
    // exact only to some µs), so an interval that ends within 50 µs (10%) of +0.5 ms counts as
    // bracketing it; how often intervals miss is the twenty-comparison test's to check. Exact,
    // this failed a quiet CI run: p50 500.1 … 551.1 µs.
    assert.ok(
      r.low <= 500 + BRACKET_SLACK_US && r.high >= 500 - BRACKET_SLACK_US,
      `${metric} interval ${r.low} … ${r.high} µs`,
    );
  }
  // 250 round trips per run: p99.9 cannot be judged.
  assert.equal(row(written, "p99.9").verdict, "not enough samples");
  assert.match(result.stdout, /p99\.9 .*not enough samples \(need about 10,000\)/);
  assert.match(result.stdout, /Gate "p50 > \+50%" passed/);
  // The sides ran against different servers, and compare says so (once).
  assert.equal(result.stdout.match(/differ in target/g)?.length, 1, result.stdout);

  // A gate whose threshold the whole interval passes fails the build, and says which.
  const gated = await runCli(["compare", csvs(base), csvs(next), "--fail-if", "p50 > +2%"]);
  assert.equal(gated.code, 1, gated.stdout + gated.stderr);
  assert.match(
    gated.stdout,
    /Gate "p50 > \+2%" failed on latency rtt p50: the whole interval is above/,
  );

  // One run per side: beyond the within-run noise, but no verdict without more runs.
  const single = await runCli(["compare", base[0].csv, next[0].csv, "--fail-if", "p50 > +2%"]);
  assert.equal(single.code, 0, single.stderr);
  assert.match(single.stdout, /p50 .*need more runs/);
  assert.match(single.stdout, /Gate "p50 > \+2%" not judged/);

  // The same runs from their JSON histograms (the CSVs moved away, so compare cannot find them
  // and resamples the histograms without time order): same figures, same verdicts, near intervals.
  for (const r of [...base, ...next]) await Deno.rename(r.csv, `${r.csv}.away`);
  const fromJson = await runCli(["compare", jsons(base), jsons(next), "--json", out]);
  assert.equal(fromJson.code, 0, fromJson.stderr);
  const viaJson = JSON.parse(await Deno.readTextFile(out));
  for (const metric of ["p50", "p90", "p99", "p99.9"]) {
    const a = row(written, metric);
    const b = row(viaJson, metric);
    assert.equal(b.verdict, a.verdict, metric);
    assert.ok(Math.abs(b.base / a.base - 1) < 0.002, `${metric} base ${a.base} vs ${b.base}`);
    assert.ok(Math.abs(b.new / a.new - 1) < 0.002, `${metric} new ${a.new} vs ${b.new}`);
    if (a.low !== null) {
      // Near, not equal: the CSV's blocks are time windows and the JSON's random ones, so a burst
      // in one window widens only the first (a CI run once put one end 0.27 widths apart).
      const width = a.high - a.low;
      assert.ok(
        Math.abs(b.low - a.low) < 0.4 * width && Math.abs(b.high - a.high) < 0.4 * width,
        `${metric}: CSV ${a.low} … ${a.high}, JSON ${b.low} … ${b.high}`,
      );
    }
  }
});

Deno.test("netspeed compare of twenty same-configuration comparisons against one serve gives at most two false verdicts per percentile", async () => {
  await using dir = await tempDir();
  await using server = await startServe();
  const runs = 20;
  for (let i = 0; i < runs; i++) {
    await latencyRun(dir.path, `run${String(i).padStart(2, "0")}`, server.port, [
      "-w",
      "2",
      "-c",
      "2",
      "-n",
      "3000",
    ]);
  }
  const loaded: CompareRun[] = [];
  for (let i = 0; i < runs; i++) {
    loaded.push(...await loadSide(join(dir.path, `run${String(i).padStart(2, "0")}.csv`), "BASE"));
  }
  const percentiles = [50, 90, 99, 99.9];
  const settings = { percentiles, confidence: 0.95, gates: [] };
  // Twenty comparisons of 3 runs against 3 others, drawn at random from the pool.
  const random = seededRandom(11);
  const falseVerdicts = new Map(percentiles.map((p) => [`p${p}`, 0]));
  let example = "";
  for (let t = 0; t < 20; t++) {
    const order = loaded.map((r, i) => ({ r, key: random() + i * 0 })).sort((a, b) => a.key - b.key)
      .map((x) => x.r);
    const c = compareRuns(order.slice(0, 3), order.slice(3, 6), settings);
    if (t === 0) example = formatComparison(c);
    for (const row of c.rows) {
      if (row.verdict === "better" || row.verdict === "worse") {
        falseVerdicts.set(row.metric, falseVerdicts.get(row.metric)! + 1);
      }
    }
  }
  // Twenty pairs of one run against another: the old interval called most of them different.
  let beyondWithinRunNoise = 0;
  let calledOneRun = 0;
  for (let t = 0; t < 20; t++) {
    const i = Math.floor(random() * runs);
    const j = (i + 1 + Math.floor(random() * (runs - 1))) % runs;
    const c = compareRuns([loaded[i]], [loaded[j]], settings);
    const p50 = c.rows.find((r) => r.metric === "p50")!;
    if (p50.verdict === "need more runs") beyondWithinRunNoise++;
    calledOneRun += c.rows.filter((r) => r.verdict === "better" || r.verdict === "worse").length;
  }
  console.log(example);
  console.log(
    `False verdicts over 20 comparisons of 3 vs 3 identical runs at 95%: ${
      [...falseVerdicts].map(([m, n]) => `${m} ${n}/20`).join(", ")
    }; 20 pairs of one run against another: p50 beyond within-run noise in ${beyondWithinRunNoise}/20 pairs (all "need more runs"; ${calledOneRun} better or worse verdicts)`,
  );
  for (const [metric, n] of falseVerdicts) {
    assert.ok(n <= 2, `${metric}: ${n} false verdicts of 20`);
  }
  assert.equal(calledOneRun, 0);

  // Runs of 200 round trips: p99.9 rests on a fraction of a sample, and gets no verdict.
  const short = [];
  for (const name of ["short-a", "short-b"]) {
    short.push(await latencyRun(dir.path, name, server.port, ["-c", "4", "-n", "50"]));
  }
  const thin = await runCli(["compare", short[0].csv, short[1].csv]);
  assert.equal(thin.code, 0, thin.stderr);
  assert.match(thin.stdout, /fewest samples in a run 200\b/);
  assert.match(thin.stdout, /^p99\.9 .* - +not enough samples \(need about 10,000\)$/m);
});

Deno.test("netspeed compare exits 2 with one line for inputs of different kinds, a bad gate or percentile", async () => {
  await using dir = await tempDir();
  const latency = join(dir.path, "latency.csv");
  const connect = join(dir.path, "connect.csv");
  await Deno.writeTextFile(
    latency,
    "worker,connection,seq,start_us,rtt_us,bytes,error\n" +
      Array.from({ length: 50 }, (_, i) => `0,0,${i},${i * 100},${50 + (i % 7)},1024,`).join("\n") +
      "\n",
  );
  await Deno.writeTextFile(
    connect,
    "worker,seq,start_us,connect_us,error\n" +
      Array.from({ length: 50 }, (_, i) => `0,${i},${i * 100},${80 + (i % 5)},`).join("\n") + "\n",
  );
  const cases: [string[], RegExp][] = [
    [
      [latency, connect],
      /^netspeed: BASE ".*latency\.csv" holds latency runs and NEW ".*connect\.csv" connect runs: there is nothing of one kind to compare/,
    ],
    [
      [latency, latency, "--fail-if", "p99 > fast"],
      /^netspeed: Invalid --fail-if "p99 > fast": expected/,
    ],
    [
      [latency, latency, "--percentiles", "50,100"],
      /^netspeed: Invalid --percentiles "50,100": "100" is not a percentile between 0 and 100/,
    ],
    [[latency, latency, "--percentiles", "0"], /^netspeed: Invalid --percentiles "0"/],
    [[latency, latency, "--confidence", "1.5"], /^netspeed: Invalid --confidence "1.5"/],
    [
      [latency, join(dir.path, "missing.csv")],
      /^netspeed: Cannot read NEW ".*missing\.csv": no such file/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const result = await runCli(["compare", ...args]);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert.match(result.stderr, pattern);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.equal(result.stdout, "");
  }
  // 50 samples a side compare fine: p50 gets an interval, p99 asks for more.
  const ok = await runCli(["compare", latency, latency]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /p99 .*not enough samples \(need about 1,000\)/);
});
