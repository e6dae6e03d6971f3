/**
 * Where a run's results went: the JSON summary written, the one line per
 * file that tells the user where to find them, and the files that could
 * not be written.
 *
 * A file that cannot be written (a full disk) must not cost the user the
 * measurement: writers record the failure here instead of throwing, the
 * command prints its summary as usual, and {@linkcode printSavedFiles}
 * (the last thing every measuring command prints) then throws one
 * {@linkcode RunError} naming each such file and why: one line on stderr,
 * exit 1. One process runs one command, so one list serves.
 *
 * @module
 */
import { RunError } from "./errors.ts";

/** `--json -`: the summary goes to stdout, one line, and the human summary to stderr. */
export const JSON_TO_STDOUT = "-";

/** Files that could not be written, by path, with the message to print. */
const unsaved = new Map<string, string>();

/** Records that `path` could not be (fully) written; `message` names it and the reason. */
export function recordUnsavedFile(path: string, message: string): void {
  if (!unsaved.has(path)) unsaved.set(path, message);
}

/**
 * Writes a summary as pretty JSON; `-` prints it to stdout on one line, so
 * that a stream of them (`kubectl logs`) can be read back by
 * `netspeed merge -`. A failure does not throw: it is recorded (and any
 * partial file removed) for {@linkcode printSavedFiles} to report after
 * the summary.
 */
export async function writeSummaryJson(path: string, summary: unknown): Promise<void> {
  if (path === JSON_TO_STDOUT) {
    await writeAll(Deno.stdout, new TextEncoder().encode(JSON.stringify(summary) + "\n"));
    return;
  }
  try {
    await Deno.writeTextFile(path, JSON.stringify(summary, null, 2) + "\n");
  } catch (error) {
    recordUnsavedFile(path, `Cannot write JSON file "${path}": ${(error as Error).message}`);
    // Half a JSON file is worse than none: the report would find it unreadable.
    // Only a regular file, though: never a device such as /dev/full.
    const info = await Deno.lstat(path).catch(() => null);
    if (info?.isFile) await Deno.remove(path).catch(() => {});
  }
}

/**
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

/**
 * Prints where the CSV (with its rows) and the JSON summary of a run were
 * saved (on stderr under `--json -`); then, if any file could not be
 * written, throws one {@linkcode RunError} naming each (the summary is
 * already printed).
 */
export function printSavedFiles(
  csv: { path: string; rows: number } | null | undefined,
  jsonPath: string | undefined,
): void {
  const print = jsonPath === JSON_TO_STDOUT ? console.error : console.log;
  if (csv) {
    const failed = unsaved.has(csv.path);
    print(
      `CSV: ${csv.path} (${csv.rows} rows${failed ? ", then writing failed: incomplete" : ""})`,
    );
  }
  if (jsonPath && jsonPath !== JSON_TO_STDOUT && !unsaved.has(jsonPath)) print(`JSON: ${jsonPath}`);
  if (unsaved.size > 0) {
    const messages = [...unsaved.values()];
    unsaved.clear();
    throw new RunError(messages.join("; "));
  }
}
