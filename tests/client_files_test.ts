/**
 * Nothing measured is lost on the client side: `latency`, `connect` and
 * `throughput` killed with SIGKILL leave CSV files whose lines are whole
 * rows (but perhaps the last), which `report` reads, skipping a torn last
 * line with a warning; a CSV or JSON that cannot be written (a full disk:
 * a small tmpfs this test mounts) costs one line on stderr and exit 1, with
 * the summary of what was measured still on stdout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli, tempDir } from "./helpers.ts";

/** `serve` with echo, discard and chargen on free ports. */
async function startAllServices() {
  const server = spawnCli([
    "serve",
    "--port",
    "0",
    "--discard-port",
    "0",
    "--chargen-port",
    "0",
    "--threads",
    "1",
  ]);
  const port = async (service: string) =>
    Number((await server.waitFor(new RegExp(`^${service} listening on .*:(\\d+)`)))[1]);
  return Object.assign(server, {
    echo: await port("echo"),
    discard: await port("discard"),
  });
}

/** Each command, asked to run far longer than the test lets it. */
function commands(echo: number, discard: number, csv: string): Record<string, string[]> {
  return {
    latency: ["latency", `127.0.0.1:${echo}`, "-d", "60s", "--csv", csv, "--no-progress"],
    connect: ["connect", `127.0.0.1:${echo}`, "-d", "60s", "--csv", csv, "--no-progress"],
    throughput: [
      "throughput",
      "127.0.0.1",
      "--discard-port",
      String(discard),
      "-d",
      "60s",
      "-i",
      "50ms",
      "-P",
      "4",
      "--csv",
      csv,
      "--no-progress",
    ],
  };
}

/** Lines of a file, and whether it ends with a line end. */
async function linesOf(path: string): Promise<{ lines: string[]; terminated: boolean }> {
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n");
  const terminated = lines.at(-1) === "";
  if (terminated) lines.pop();
  return { lines, terminated };
}

/** Every line but the last has as many fields as the header; returns the data row count. */
function assertWholeRows(lines: string[], terminated: boolean, what: string): number {
  const width = lines[0].split(",").length;
  const whole = terminated ? lines : lines.slice(0, -1);
  for (const [i, line] of whole.entries()) {
    assert.equal(line.split(",").length, width, `${what} line ${i + 1}: "${line}"`);
  }
  return whole.length - 1;
}

Deno.test("latency, connect and throughput killed with SIGKILL leave whole rows that report reads", async () => {
  await using server = await startAllServices();
  await using dir = await tempDir();
  for (const [name, args] of Object.entries(commands(server.echo, server.discard, ""))) {
    const csv = join(dir.path, `${name}.csv`);
    args[args.indexOf("--csv") + 1] = csv;
    const child = spawnCli(args);
    // Kill it once rows are on disk (a few batches), mid-run.
    const deadline = Date.now() + 30_000;
    while (((await Deno.stat(csv).catch(() => null))?.size ?? 0) < 4096) {
      assert.ok(Date.now() < deadline, `${name} wrote no rows in 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.process.kill("SIGKILL");
    const status = await child.process.status;
    assert.equal(status.signal, "SIGKILL");
    await child.wait();

    const { lines, terminated } = await linesOf(csv);
    const rows = assertWholeRows(lines, terminated, name);
    assert.ok(rows > 0, `${name}: no rows`);

    // The same file with its last row torn in half, as a kill mid-write leaves it.
    const torn = join(dir.path, `${name}-torn.csv`);
    const lastRow = lines.at(-1)!;
    await Deno.writeTextFile(
      torn,
      [...lines.slice(0, -1), lastRow.slice(0, lastRow.length >> 1)].join("\n"),
    );
    for (const [path, expectTorn] of [[csv, !terminated], [torn, true]] as const) {
      const report = await runCli(["report", path, "-o", join(dir.path, `${name}.html`)]);
      assert.equal(report.code, 0, `${name}: ${report.stderr}`);
      assert.match(report.stdout, /^Report: /m);
      if (expectTorn) {
        assert.match(
          report.stderr,
          /^netspeed: Warning: ".*\.csv": Line \d+ has no line end: the run was cut off while writing it/m,
        );
      } else {
        assert.equal(report.stderr, "", `${name}: ${report.stderr}`);
      }
    }
  }
});

/** A tmpfs of `sizeKiB` mounted on a fresh folder, unmounted and removed on dispose. */
async function smallDisk(sizeKiB: number): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: `netspeed-full-${Deno.pid}-` });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${sizeKiB}k`, "tmpfs", path],
    stderr: "piped",
  }).output();
  if (mount.code !== 0) {
    await Deno.remove(path);
    throw new Error(
      `Cannot mount a tmpfs (the test needs root): ${new TextDecoder().decode(mount.stderr)}`,
    );
  }
  return {
    path,
    async [Symbol.asyncDispose]() {
      await new Deno.Command("umount", { args: [path] }).output();
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Fills a folder's file system to the last byte. */
async function fill(dir: string): Promise<void> {
  const file = await Deno.open(join(dir, "filler"), { write: true, create: true });
  const block = new Uint8Array(4096);
  try {
    while (true) await file.write(block);
  } catch { /* full */ }
  file.close();
}

Deno.test("a CSV that fills the disk mid-run: summary printed, one line naming the file, exit 1", async () => {
  await using server = await startAllServices();
  await using disk = await smallDisk(16);
  const runs: Record<string, string[]> = {
    latency: ["latency", `127.0.0.1:${server.echo}`, "-n", "5000", "--no-progress"],
    connect: ["connect", `127.0.0.1:${server.echo}`, "-n", "3000", "--no-progress"],
    throughput: [
      "throughput",
      "127.0.0.1",
      "--discard-port",
      String(server.discard),
      "-d",
      "3s",
      "-i",
      "20ms",
      "-P",
      "4",
      "--no-progress",
    ],
  };
  for (const [name, args] of Object.entries(runs)) {
    const csv = join(disk.path, `${name}.csv`);
    const started = performance.now();
    const result = await runCli([...args, "--csv", csv], 60_000);
    const tookMs = performance.now() - started;
    assert.equal(result.code, 1, `${name}: ${result.stderr}`);
    const errors = result.stderr.trim().split("\n");
    assert.equal(errors.length, 1, `${name}: ${result.stderr}`);
    assert.match(
      errors[0],
      new RegExp(`^netspeed: Cannot write CSV file "${csv}": No space left on device`),
    );
    assert.doesNotMatch(result.stderr, /\bat \S+:\d+:\d+/, "no stack trace");
    // The summary of what was measured is on stdout, and says the CSV is incomplete.
    assert.match(result.stdout, name === "throughput" ? /Mbit\/s|Gbit\/s/ : /p50/);
    assert.match(result.stdout, /^CSV: .* rows, then writing failed: incomplete\)$/m);
    assert.ok(tookMs < 45_000, `${name} took ${tookMs} ms`);
    // What did reach the disk is whole rows only.
    const { lines, terminated } = await linesOf(csv);
    assert.ok(terminated, `${name}: the CSV ends mid-row`);
    assertWholeRows(lines, terminated, name);
    await Deno.remove(csv);
  }
});

Deno.test("a JSON that cannot be written: summary printed, one line naming the file, exit 1", async () => {
  await using server = await startAllServices();
  await using disk = await smallDisk(16);
  await using dir = await tempDir();
  await fill(disk.path);
  const json = join(disk.path, "latency.json");
  const csv = join(dir.path, "latency.csv");
  const result = await runCli([
    "latency",
    `127.0.0.1:${server.echo}`,
    "-n",
    "200",
    "--csv",
    csv,
    "--json",
    json,
    "--no-progress",
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`^netspeed: Cannot write JSON file "${json}": `));
  assert.match(result.stdout, /p50/);
  assert.match(result.stdout, /^CSV: .* \(200 rows\)$/m);
  assert.doesNotMatch(result.stdout, /^JSON: /m);
  // No half-written JSON is left for a reader to trip on.
  assert.equal(await Deno.stat(json).catch(() => null), null);
});
