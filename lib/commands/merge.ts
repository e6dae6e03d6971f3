/**
 * `netspeed merge INPUT… -o DIR`: reads the results of many nodes (result
 * folders, JSON summaries, CSVs, or `-` for a stream of `--json -`
 * summaries such as `kubectl logs` prints), checks that they can be
 * merged, and writes one result: `DIR/merged.json` (histograms summed),
 * `DIR/merged.csv` (every row, with its node), `DIR/merged.hlog` (the
 * nodes' interval logs, summed per interval), and a per-node table on
 * stdout. Bad input stops it before anything is written.
 *
 * @module
 */
import { join } from "node:path";
import { ExitCode, type ExitCodeValue, RunError, UsageError } from "../errors.ts";
import { newRunInfo } from "../run_info.ts";
import { writeSummaryJson } from "../saved_files.ts";
import { BadResultError, loadResults } from "../results/load_result.ts";
import {
  formatMergeSummary,
  MergeDataError,
  type MergedResult,
  mergeResults,
  uniqueIds,
} from "../merge/merge_results.ts";
import { type CsvPart, writeMergedCsv } from "../merge/merge_csv.ts";
import { type HlogPart, mergedHlogText } from "../merge/merge_hlog.ts";
import { readHlog } from "../hlog/reader.ts";

/** What `netspeed merge` reads and writes. */
export interface MergeOptions {
  /** Result folders, JSON summaries, CSVs, or "-" for stdin. */
  inputs: string[];
  /** Folder the merged files go to (created when missing). */
  outputDir: string;
  /** Write `merged.csv` from the nodes' CSVs. @default {true} */
  csv: boolean;
}

/** Names of the files `merge` writes in its folder. */
export const MERGED_FILES = Object.freeze({
  json: "merged.json",
  csv: "merged.csv",
  hlog: "merged.hlog",
});

/** Runs `netspeed merge`; resolves with the exit code. */
export async function merge(options: MergeOptions): Promise<ExitCodeValue> {
  const merged = await runMerge(options);
  console.log(formatMergeSummary(merged));
  if (merged.csv) console.log(`CSV: ${merged.csv.path} (${merged.csv.rows} rows)`);
  if (merged.files.hlog) console.log(`HdrHistogram log: ${merged.files.hlog}`);
  console.log(`JSON: ${join(options.outputDir, MERGED_FILES.json)}`);
  return ExitCode.ok;
}

/** Like {@linkcode merge} without printing: loads, checks, merges, writes; resolves with the result. */
export async function runMerge(options: MergeOptions): Promise<MergedResult> {
  const loaded = await loadResults(options.inputs);
  if (loaded.length === 0) throw new UsageError("Nothing to merge: no result in the inputs");
  const first = loaded[0];
  for (const other of loaded.slice(1)) {
    if (other.result.kind !== first.result.kind) {
      throw new UsageError(
        `Cannot merge "${other.source}" (${other.result.kind}) with "${first.source}" (${first.result.kind}): every input must be of one kind`,
      );
    }
  }
  let merged: MergedResult;
  try {
    merged = mergeResults(loaded, newRunInfo());
  } catch (error) {
    if (error instanceof MergeDataError) throw new BadResultError(error.message);
    throw error;
  }

  // Interval logs are read (and checked) before anything is written too.
  const ids = uniqueIds(loaded.map((l) => l.result.node.id));
  const hlogs: HlogPart[] = [];
  for (const [n, l] of loaded.entries()) {
    if (l.hlogPath !== null) hlogs.push({ nodeId: ids[n], log: await readHlog(l.hlogPath) });
  }

  // Everything was read and checked: only now is anything written.
  try {
    await Deno.mkdir(options.outputDir, { recursive: true });
  } catch (error) {
    throw new RunError(
      `Cannot create output folder "${options.outputDir}": ${(error as Error).message}`,
    );
  }
  if (options.csv) {
    const parts: CsvPart[] = [];
    loaded.forEach((l, n) => {
      if (l.csvPath === null) {
        merged.warnings.push(
          `Node ${ids[n]} has no CSV beside its JSON ("${
            l.result.files.csv ?? "none written"
          }"): ${MERGED_FILES.csv} holds the other nodes' rows only`,
        );
        return;
      }
      parts.push({
        nodeId: ids[n],
        csvPath: l.csvPath,
        shiftMs: l.fromCsvOnly ? 0 : l.result.window.originEpochMs - merged.merge.originEpochMs,
      });
    });
    if (parts.length > 0) {
      const path = join(options.outputDir, MERGED_FILES.csv);
      const partial = `${path}.partial`;
      try {
        const written = await writeMergedCsv(parts, partial);
        await Deno.rename(partial, path);
        merged.csv = { path, rows: written.rows };
        merged.files.csv = path;
      } catch (error) {
        await Deno.remove(partial).catch(() => {});
        throw error;
      }
    }
  }
  if (hlogs.length > 0) {
    if (hlogs.length < loaded.length) {
      merged.warnings.push(
        `${hlogs.length} of ${loaded.length} nodes have an interval log: ${MERGED_FILES.hlog} holds theirs only`,
      );
    }
    const path = join(options.outputDir, MERGED_FILES.hlog);
    try {
      await Deno.writeTextFile(path, mergedHlogText(hlogs, merged.kind));
    } catch (error) {
      throw new RunError(`Cannot write "${path}": ${(error as Error).message}`);
    }
    merged.files.hlog = path;
  }
  const jsonPath = join(options.outputDir, MERGED_FILES.json);
  merged.files.json = jsonPath;
  await writeSummaryJson(jsonPath, merged);
  return merged;
}
