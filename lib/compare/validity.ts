/**
 * Reasons a comparison may not compare like with like, said out loud:
 * runs whose target, options, netspeed or Deno versions differ; clients
 * that ran out of CPU or missed the rate they were asked for; interrupted
 * runs; runs that came without the summary that would tell. Pure.
 *
 * @module
 */
import { CPU_SATURATION_SHARE } from "../summary_parts.ts";
import { MIN_RATE_RATIO } from "../latency/schedule.ts";
import type { CompareKind, CompareRun } from "./comparison.ts";

/**
 * Options that say where files went, which node ran or when, not how the
 * run was made; and the target, named on its own.
 */
const IGNORED_OPTIONS = new Set([
  "csvPath",
  "jsonPath",
  "reportPath",
  "hlogPath",
  "progress",
  "nodeId",
  "startAtEpochMs",
  "timePort",
  "target",
]);

function show(value: unknown): string {
  return value === undefined ? "(not recorded)" : JSON.stringify(value);
}

/** "latency.csv (base), b/latency.csv (new)". */
function names(runs: readonly { label: string; side: string }[]): string {
  return runs.map((r) => `${r.label} (${r.side})`).join(", ");
}

/** Warnings about the runs of both sides, kind by kind. */
export function runWarnings(
  base: readonly CompareRun[],
  next: readonly CompareRun[],
  kinds: readonly CompareKind[],
): string[] {
  const warnings: string[] = [];
  const all = [
    ...base.map((r) => ({ ...r, side: "base" })),
    ...next.map((r) => ({ ...r, side: "new" })),
  ];
  for (const kind of new Set(all.map((r) => r.kind))) {
    if (!kinds.includes(kind)) {
      const side = base.some((r) => r.kind === kind) ? "BASE" : "NEW";
      warnings.push(`Only ${side} has ${kind} runs: they are not compared`);
    }
  }
  for (const kind of kinds) {
    const runs = all.filter((r) => r.kind === kind);
    const known = runs.filter((r) => r.facts.options !== undefined);
    const missing = runs.filter((r) => r.facts.options === undefined);
    // Only runs with a summary can differ in what a summary records.
    const differing = (what: string, valueOf: (r: typeof runs[number]) => unknown) => {
      const byValue = new Map<string, typeof runs>();
      for (const r of known) {
        const key = show(valueOf(r));
        byValue.set(key, [...(byValue.get(key) ?? []), r]);
      }
      if (byValue.size < 2) return;
      warnings.push(
        `The ${kind} runs differ in ${what}: ${
          [...byValue].map(([value, rs]) => `${value} in ${names(rs)}`).join("; ")
        }`,
      );
    };
    if (missing.length > 0) {
      warnings.push(
        `No JSON summary for ${
          names(missing)
        }: its options, versions and CPU use are unknown, so differences in them cannot be named`,
      );
    }
    differing("target", (r) => r.facts.target);
    differing("netspeed version", (r) => r.facts.version);
    differing("Deno version", (r) => r.facts.deno);
    const keys = new Set(known.flatMap((r) => Object.keys(r.facts.options ?? {})));
    for (const key of [...keys].sort()) {
      if (IGNORED_OPTIONS.has(key)) continue;
      differing(`option ${key}`, (r) => r.facts.options?.[key]);
    }
    const unordered = runs.filter((r) =>
      Object.values(r.distributions).some((b) => b.order === "random")
    );
    const single = base.filter((r) => r.kind === kind).length === 1 ||
      next.filter((r) => r.kind === kind).length === 1;
    if (unordered.length > 0 && single) {
      warnings.push(
        `${
          names(unordered)
        }: a JSON histogram keeps no time order, so its samples are resampled as if independent; with a single run on a side, the interval is then narrower than the CSV's would be when samples are correlated in time`,
      );
    }
    for (const r of runs) {
      const f = r.facts;
      if (f.cpuShare !== undefined && f.cpuShare >= CPU_SATURATION_SHARE) {
        warnings.push(
          `${r.label} (${r.side}): the client used ${(f.cpuShare * 100).toFixed(0)}% of ${
            f.cores ?? "all"
          } cores: it may have run out of CPU, so its own queueing is in its figures`,
        );
      }
      if (
        f.rateAskedPerSec !== undefined && f.rateAchievedPerSec !== undefined &&
        f.rateAchievedPerSec < MIN_RATE_RATIO * f.rateAskedPerSec
      ) {
        warnings.push(
          `${r.label} (${r.side}): the client sent ${
            Math.round(f.rateAchievedPerSec).toLocaleString("en-US")
          }/s of the ${
            Math.round(f.rateAskedPerSec).toLocaleString("en-US")
          }/s asked: it missed its rate, so it measured a lighter load`,
        );
      }
      if (f.interrupted) {
        warnings.push(`${r.label} (${r.side}) was interrupted: it covers only part of its run`);
      }
    }
  }
  return warnings;
}
