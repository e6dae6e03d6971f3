/**
 * Where a run's results went: the JSON summary written, and the one line
 * per file that tells the user where to find them.
 *
 * @module
 */
import { RunError } from "./errors.ts";

/** Writes a summary as pretty JSON, or says which file could not be written. */
export async function writeSummaryJson(path: string, summary: unknown): Promise<void> {
  try {
    await Deno.writeTextFile(path, JSON.stringify(summary, null, 2) + "\n");
  } catch (error) {
    throw new RunError(`Cannot write JSON file "${path}": ${(error as Error).message}`);
  }
}

/** Prints where the CSV (with its rows) and the JSON summary of a run were saved. */
export function printSavedFiles(
  csv: { path: string; rows: number } | null | undefined,
  jsonPath: string | undefined,
): void {
  if (csv) console.log(`CSV: ${csv.path} (${csv.rows} rows)`);
  if (jsonPath) console.log(`JSON: ${jsonPath}`);
}
