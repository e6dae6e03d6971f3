/**
 * Reading CSV files for the report: streaming across chunk boundaries,
 * columns by name, kinds by header, and every kind of bad input.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../lib/errors.ts";
import { detectCsvLayout } from "../lib/report/csv_kind.ts";
import {
  type CsvRow,
  parseNumberBytes,
  readCsvFile,
  splitQuotedLine,
} from "../lib/report/csv_stream.ts";
import { loadRun } from "../lib/report/load_run.ts";
import { runLimits } from "../lib/report/options.ts";
import { tempDir } from "./helpers.ts";
import { syntheticConnectCsv, syntheticThroughputCsv } from "./report_fixtures.ts";

/** Reads a file and returns every row's fields as text, with line numbers. */
async function rowsOf(path: string, chunkBytes?: number) {
  const rows: { line: number; fields: string[] }[] = [];
  let header: string[] = [];
  const read = await readCsvFile(path, (columns) => {
    header = columns;
    return (row: CsvRow) => {
      rows.push({
        line: row.line,
        fields: Array.from({ length: row.fieldCount }, (_, i) => row.text(i)),
      });
    };
  }, chunkBytes);
  return { header, rows, tornLastLine: read.tornLastLine };
}

Deno.test("readCsvFile() streams rows across tiny chunks and CRLF, and skips a last line cut off mid-write", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "a.csv");
  const lines = ["a,b,c"];
  for (let i = 0; i < 500; i++) lines.push(`${i},${i * 2}.5,x${"y".repeat(i % 37)}`);
  for (const end of ["\r\n", ""]) {
    await Deno.writeTextFile(path, "\ufeff" + lines.join("\r\n") + end);
    for (const chunk of [7, 64, 1 << 20]) {
      const { header, rows, tornLastLine } = await rowsOf(path, chunk);
      assert.deepEqual(header, ["a", "b", "c"]);
      // Without a line end the last row may have lost its tail: it is not read.
      const complete = end === "" ? 499 : 500;
      assert.equal(rows.length, complete);
      assert.equal(tornLastLine, end === "" ? 501 : null);
      const last = complete - 1;
      assert.deepEqual(rows[last].fields, [
        `${last}`,
        `${last * 2}.5`,
        "x" + "y".repeat(last % 37),
      ]);
      assert.equal(rows[0].line, 2);
      assert.equal(rows[last].line, complete + 1);
    }
  }
});

Deno.test("readCsvFile() parses quoted fields and skips blank lines", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "q.csv");
  await Deno.writeTextFile(path, 'a,b\n\n"1,5","say ""hi"""\n2,3\n\n');
  const { rows } = await rowsOf(path);
  assert.deepEqual(rows.map((r) => r.fields), [["1,5", 'say "hi"'], ["2", "3"]]);
  assert.deepEqual(rows.map((r) => r.line), [3, 4]);
  assert.deepEqual(splitQuotedLine('"open,'), null);
});

Deno.test("parseNumberBytes() reads decimals and refuses what is not a number", () => {
  const n = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return parseNumberBytes(bytes, 0, bytes.length);
  };
  assert.equal(n("123.456"), 123.456);
  assert.equal(n("-0.5"), -0.5);
  assert.equal(n("1e3"), 1000);
  assert.equal(n("42"), 42);
  for (const bad of ["", "abc", "1.2.3", " 5", "-", "."]) assert.ok(Number.isNaN(n(bad)), bad);
});

Deno.test("readCsvFile() names the file when it is missing or empty", async () => {
  await using dir = await tempDir();
  const missing = join(dir.path, "nope.csv");
  await assert.rejects(
    () => readCsvFile(missing, () => () => {}),
    (e: Error) =>
      e instanceof UsageError && e.message.includes(`"${missing}"`) &&
      /no such file/.test(e.message),
  );
  const empty = join(dir.path, "empty.csv");
  await Deno.writeTextFile(empty, "");
  await assert.rejects(
    () => readCsvFile(empty, () => () => {}),
    (e: Error) =>
      e instanceof UsageError && e.message.includes(`"${empty}"`) && /empty/.test(e.message),
  );
});

Deno.test("detectCsvLayout() finds columns by name in any order and ignores unknown ones", () => {
  const layout = detectCsvLayout([
    "error",
    "rtt_us",
    "start_us",
    "intended_us",
    "connection",
    "worker",
    "rtt_uncorrected_us",
  ]);
  assert.ok(typeof layout !== "string");
  assert.equal(layout.kind, "latency");
  assert.equal(layout.index.rtt_us, 1);
  assert.equal(layout.index.worker, 5);
  assert.deepEqual(layout.ignored, ["intended_us", "rtt_uncorrected_us"]);
  const connect = detectCsvLayout(["worker", "seq", "start_us", "connect_us", "error"]);
  assert.ok(typeof connect !== "string" && connect.kind === "connect");
  const throughput = detectCsvLayout(syntheticThroughputCsv(1, 1, 1).split("\n")[0].split(","));
  assert.ok(typeof throughput !== "string" && throughput.kind === "throughput");
});

Deno.test("detectCsvLayout() says which column is missing, or that the file is not netspeed's", () => {
  assert.match(
    detectCsvLayout(["worker", "connection", "start_us", "rtt_us"]) as string,
    /latency CSV header lacks column "error"/,
  );
  assert.match(detectCsvLayout(["name", "age"]) as string, /not one of netspeed's CSV files/);
  assert.match(detectCsvLayout(["rtt_us", "connect_us"]) as string, /not one of netspeed's/);
});

Deno.test("loadRun() skips malformed rows, counts them, and keeps their line numbers", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "run.csv");
  await Deno.writeTextFile(
    path,
    [
      "worker,connection,seq,start_us,rtt_us,bytes,error",
      "0,0,0,100.0,50.000,64,",
      "0,0,1,150.0,abc,64,",
      "0,0,2,200.0,51.000,64,",
      "0,0,3,250.0,,0,timeout",
      "0,0,4,300.0,52.000",
      "x,0,5,350.0,53.000,64,",
      "0,0,6,400.0,,64,",
      "0,0,7,450.0,54.0", // a run cut mid-write: no newline, too few fields
    ].join("\n"),
  );
  const run = await loadRun(path, "run", runLimits(1));
  assert.equal(run.kind, "latency");
  assert.equal(run.rowsRead, 7);
  assert.equal(run.malformed.count, 4);
  assert.deepEqual(run.malformed.examples.map((e) => e.line), [3, 6, 7, 8]);
  // The torn last line is not a malformed row but a note of its own.
  assert.equal(run.tornLastLine, 9);
  assert.ok(run.notes.some((n) => /^Line 9 has no line end/.test(n)), run.notes.join(" | "));
  assert.match(run.malformed.examples[0].reason, /rtt_us "abc"/);
  assert.match(run.malformed.examples[1].reason, /5 fields where the header has 7/);
  if (run.kind !== "latency") throw new Error("unreachable");
  assert.equal(run.data.successes, 2);
  assert.equal(run.data.failures, 1);
  assert.deepEqual(run.data.errors, { timeout: 1 });
});

Deno.test("loadRun() refuses a CSV with wrong columns, no rows, or no usable row, naming file and line", async () => {
  await using dir = await tempDir();
  const cases: [string, string, RegExp][] = [
    [
      "wrong.csv",
      "worker,connection,start,rtt,error\n1,2,3,4,\n",
      /"[^"]*wrong\.csv" line 1: .*not one of netspeed's/,
    ],
    [
      "header.csv",
      "worker,seq,start_us,connect_us,error\n",
      /"[^"]*header\.csv": it has a header but no data rows/,
    ],
    [
      "bad.csv",
      "worker,seq,start_us,connect_us,error\nx,1,2,3,\ny,1,2,3,\n",
      /"[^"]*bad\.csv": none of its 2 rows is usable \(line 2: worker "x"/,
    ],
  ];
  for (const [name, text, pattern] of cases) {
    const path = join(dir.path, name);
    await Deno.writeTextFile(path, text);
    await assert.rejects(
      () => loadRun(path, name, runLimits(1)),
      (e: Error) => e instanceof UsageError && pattern.test(e.message),
      name,
    );
  }
});

Deno.test("loadRun() reads the JSON beside the CSV, and notes one from another command", async () => {
  await using dir = await tempDir();
  const csv = join(dir.path, "connect.csv");
  await Deno.writeTextFile(csv, syntheticConnectCsv(2, 100, 80));
  await Deno.writeTextFile(
    join(dir.path, "connect.json"),
    JSON.stringify({
      command: "connect",
      target: "127.0.0.1:7007",
      run: { runId: "run-42", startedAt: "2026-01-01T00:00:00.000Z", version: "0.1.0" },
      options: { workers: 2, count: 100, csvPath: "/elsewhere/connect.csv" },
      done: 12345,
      warnings: ["something to know"],
    }),
  );
  const run = await loadRun(csv, "connect", runLimits(1));
  assert.equal(run.kind, "connect");
  assert.equal(run.meta.json, "read");
  assert.equal(run.meta.runId, "run-42");
  assert.equal(run.meta.target, "127.0.0.1:7007");
  assert.deepEqual(run.meta.options, { workers: 2, count: 100 });
  assert.deepEqual(run.meta.warnings, ["something to know"]);
  // The JSON's count disagrees with the CSV's: said, and the CSV wins.
  assert.ok(run.notes.some((n) => /JSON summary counts 12345/.test(n)), run.notes.join("; "));

  await Deno.writeTextFile(join(dir.path, "connect.json"), JSON.stringify({ command: "latency" }));
  const mismatched = await loadRun(csv, "connect", runLimits(1));
  assert.equal(mismatched.meta.json, "mismatched");
  assert.ok(mismatched.notes.some((n) => /is from "latency"/.test(n)));

  await Deno.remove(join(dir.path, "connect.json"));
  const alone = await loadRun(csv, "connect", runLimits(1));
  assert.equal(alone.meta.json, "absent");
  assert.equal(alone.notes.length, 0);
});
