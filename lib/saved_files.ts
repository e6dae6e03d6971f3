/**
 * Where a run's results went: the JSON summary written, and the one line
 * per file that tells the user where to find them.
 *
 * @module
 */
import { RunError } from "./errors.ts";

/** `--json -`: the summary goes to stdout, one line, and the human summary to stderr. */
export const JSON_TO_STDOUT = "-";

/**
 * Writes a summary as pretty JSON, or says which file could not be
 * written; `-` prints it to stdout on one line, so that a stream of
 * them (`kubectl logs`) can be read back by `netspeed merge -`.
 */
export async function writeSummaryJson(path: string, summary: unknown): Promise<void> {
  if (path === JSON_TO_STDOUT) {
    await writeAll(Deno.stdout, new TextEncoder().encode(JSON.stringify(summary) + "\n"));
    return;
  }
  try {
    await Deno.writeTextFile(path, JSON.stringify(summary, null, 2) + "\n");
  } catch (error) {
    throw new RunError(`Cannot write JSON file "${path}": ${(error as Error).message}`);
  }
}

/**
 * Prints the human summary: to stdout, or to stderr when stdout carries
 * the JSON (`--json -`), so that stdout stays machine-readable.
 */
export function printSummary(text: string, jsonPath: string | undefined): void {
  if (jsonPath === JSON_TO_STDOUT) console.error(text);
  else console.log(text);
}

async function writeAll(file: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
}

/** Prints where the CSV (with its rows) and the JSON summary of a run were saved. */
export function printSavedFiles(
  csv: { path: string; rows: number } | null | undefined,
  jsonPath: string | undefined,
): void {
  const print = jsonPath === JSON_TO_STDOUT ? console.error : console.log;
  if (csv) print(`CSV: ${csv.path} (${csv.rows} rows)`);
  if (jsonPath && jsonPath !== JSON_TO_STDOUT) print(`JSON: ${jsonPath}`);
}
