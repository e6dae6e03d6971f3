/**
 * csvText() writes what csv-stringify writes, byte for byte, whether a row
 * takes the direct path (numbers and plain strings) or needs quoting.
 */
import assert from "node:assert/strict";
import { stringify } from "csv-stringify/sync";
import { type CsvCell, csvText } from "../lib/csv_writer.ts";

const assertSame = (rows: CsvCell[][]) => assert.equal(csvText(rows), stringify(rows));

Deno.test("csvText() matches csv-stringify for measurement rows", () => {
  assertSame([
    [0, 1, 2, "1000.5", "55.123", 1024, ""],
    [1, 4294967295, 0, "0.0", "", 0, "timeout", "1.5", ""],
    [-3, 1.25, NaN, Infinity, -0, 1e21, "refused"],
  ]);
  assertSame([]);
});

Deno.test("csvText() matches csv-stringify for cells that need quotes, and mixed batches", () => {
  assertSame([
    ["a,b", 'say "hi"', "line\nbreak", "carriage\rreturn", " padded ", "µs", ""],
    [1, 2, 3],
    ["plain", "x,y"],
  ]);
});

Deno.test("csvText() matches csv-stringify on random rows", () => {
  const pieces = ["", "a", ",", '"', "\n", "\r", " ", "é", "1.5", "-", "x y"];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const rows: CsvCell[][] = [];
  for (let r = 0; r < 500; r++) {
    const row: CsvCell[] = [];
    const cells = 1 + Math.floor(next() * 8);
    for (let c = 0; c < cells; c++) {
      if (next() < 0.5) row.push(Math.round((next() - 0.5) * 1e6) / 1000);
      else {
        let text = "";
        for (let k = Math.floor(next() * 4); k > 0; k--) {
          text += pieces[Math.floor(next() * pieces.length)];
        }
        row.push(text);
      }
    }
    rows.push(row);
  }
  assertSame(rows);
  for (const row of rows) assertSame([row]);
});
