/**
 * The merged CSV of `netspeed merge`: every node's rows, streamed one file
 * at a time, behind a `node` column, with the relative time columns moved
 * onto one time zero (the merged window's start) so that rows of
 * different nodes line up on the wall clock.
 *
 * @module
 */
import { type CsvCell, CsvWriter } from "../csv_writer.ts";
import { readCsvFile } from "../report/csv_stream.ts";

/** One node's CSV and how far its time zero is after the merged one. */
export interface CsvPart {
  nodeId: string;
  csvPath: string;
  /** Added to the node's relative times: its CSV origin minus the merged origin, ms. */
  shiftMs: number;
}

/** Columns in µs since a run's start. */
const MICROSECOND_COLUMNS = new Set(["start_us", "intended_us"]);
/** Columns in seconds since a run's start. */
const SECOND_COLUMNS = new Set(["interval_start_s", "interval_end_s"]);

/** The header of a CSV file: its first non-empty line, split on commas. */
export async function readCsvHeader(path: string): Promise<string[]> {
  let header: string[] = [];
  await readCsvFile(path, (columns) => {
    header = columns.map((c) => c.trim());
    throw new HeaderRead();
  }).catch((error) => {
    if (!(error instanceof HeaderRead)) throw error;
  });
  return header;
}

class HeaderRead extends Error {}

/** Rows buffered before each write. */
const BATCH_ROWS = 4096;

/**
 * Writes the merged CSV to `path`: header `node` plus the union of the
 * parts' columns (by name, in order of first appearance); resolves with
 * the rows written.
 */
export async function writeMergedCsv(
  parts: readonly CsvPart[],
  path: string,
): Promise<{ path: string; rows: number }> {
  const headers: string[][] = [];
  for (const part of parts) headers.push(await readCsvHeader(part.csvPath));
  const columns: string[] = [];
  for (const header of headers) for (const c of header) if (!columns.includes(c)) columns.push(c);
  const writer = await CsvWriter.create(path, ["node", ...columns]);
  try {
    for (const [n, part] of parts.entries()) {
      const header = headers[n];
      const shiftUs = part.shiftMs * 1000;
      const shiftS = part.shiftMs / 1000;
      // For each merged column, how to fill it from a row of this part.
      const fill = columns.map((name): (text: string) => CsvCell => {
        if (MICROSECOND_COLUMNS.has(name)) return (t) => shifted(t, shiftUs, 3);
        if (SECOND_COLUMNS.has(name)) return (t) => shifted(t, shiftS, 6);
        return (t) => t;
      });
      const index = columns.map((name) => header.indexOf(name));
      let batch: CsvCell[][] = [];
      await readCsvFile(part.csvPath, () => (row) => {
        batch.push([
          part.nodeId,
          ...index.map((i, c) => (i === -1 ? "" : fill[c](row.text(i)))),
        ]);
        if (batch.length >= BATCH_ROWS) {
          writer.writeRows(batch);
          batch = [];
        }
      });
      writer.writeRows(batch);
    }
  } finally {
    writer.close();
  }
  return { path, rows: writer.rowCount };
}

/** A relative time moved by `shift`; an empty or non-numeric cell stays as it is. */
function shifted(text: string, shift: number, digits: number): CsvCell {
  const trimmed = text.trim();
  if (trimmed === "") return "";
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return text;
  return Number((value + shift).toFixed(digits));
}
