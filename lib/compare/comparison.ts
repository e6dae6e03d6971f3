/**
 * `compare`'s pure core: runs in, one comparison out (rows with intervals
 * and verdicts, warnings, gates). The report's comparison section calls the
 * same function, so both show the same numbers.
 *
 * @module
 */
import {
  bootstrapMean,
  bootstrapQuantiles,
  type Difference,
  difference,
  MIN_INTERVALS,
  type RunStatistic,
  samplesNeeded,
  type SideStatistic,
} from "./difference.ts";
import {
  blocksMean,
  blocksQuantile,
  type HistogramBlocks,
  pooledMean,
  pooledQuantile,
  type ValueBlocks,
} from "./blocks.ts";
import { type Gate, type GateResult, judgeGate } from "./gates.ts";
import { runWarnings } from "./validity.ts";

/** Kinds of run compare reads. */
export type CompareKind = "latency" | "connect" | "responsiveness" | "throughput";

/** What a run's summary said about how it was made (all optional: a CSV may come alone). */
export interface RunFacts {
  target?: string;
  /** Options as asked (paths left out). */
  options?: Record<string, unknown>;
  version?: string;
  deno?: string;
  /** Share of all cores the client used, 0…1. */
  cpuShare?: number;
  cores?: number;
  /** Open loop: the rate asked and the rate kept, per second. */
  rateAskedPerSec?: number;
  rateAchievedPerSec?: number;
  interrupted?: boolean;
}

/** One run, as compare sees it. */
export interface CompareRun {
  /** Short name in tables. */
  label: string;
  /** The file it came from. */
  path: string;
  kind: CompareKind;
  /** Time distributions by group ("rtt", "connect", "loaded self" …), in blocks. */
  distributions: Record<string, HistogramBlocks>;
  /** Throughput: per-interval rates (bit/s) by direction, in blocks. */
  rates: Record<string, ValueBlocks>;
  facts: RunFacts;
}

/** How to compare. */
export interface CompareSettings {
  /** Percentiles, 0…100 exclusive. */
  percentiles: number[];
  /** 0…1. */
  confidence: number;
  gates: Gate[];
}

/** Defaults of {@linkcode CompareSettings}. */
export const DEFAULT_COMPARE_SETTINGS: Readonly<CompareSettings> = Object.freeze({
  percentiles: [50, 90, 99, 99.9],
  confidence: 0.95,
  gates: [],
});

/** One compared figure. */
export interface ComparisonRow extends Difference {
  kind: CompareKind;
  /** "rtt", "connect", "idle self", "up" … */
  group: string;
  /** "p99", "mean". */
  metric: string;
  /** Percentile 0…100, null for a mean. */
  percentile: number | null;
  unit: "us" | "bit/s";
  /** Fewest samples (or intervals) in any run of either side. */
  fewestSamples: number;
}

/** A comparison of two sides. */
export interface Comparison {
  confidence: number;
  percentiles: number[];
  base: { label: string; path: string; kind: CompareKind }[];
  new: { label: string; path: string; kind: CompareKind }[];
  /** Kinds on both sides, compared. */
  kinds: CompareKind[];
  rows: ComparisonRow[];
  /** Reasons to read the verdicts with care: differing runs, saturated clients … */
  warnings: string[];
  /** What a conclusive answer would need. */
  notes: string[];
  gates: GateResult[];
  /** Whether any gate failed. */
  failed: boolean;
}

/** Groups of a kind, in table order. */
function groupsOf(runs: readonly CompareRun[], field: "distributions" | "rates"): string[] {
  const seen: string[] = [];
  for (const r of runs) {
    for (const g of Object.keys(r[field])) if (!seen.includes(g)) seen.push(g);
  }
  return seen;
}

/** A stable seed per side, run and group, so the same files give the same intervals. */
function seedOf(side: number, run: number, group: string): number {
  let h = 2166136261 ^ (side * 7919 + run * 104729);
  for (const c of group) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/**
 * Compares `next` with `base`, kind by kind (only kinds both sides have).
 * Differences are new − base; "worse" means higher times or lower rates.
 */
export function compareRuns(
  base: readonly CompareRun[],
  next: readonly CompareRun[],
  settings: CompareSettings,
): Comparison {
  const kinds = (["latency", "connect", "responsiveness", "throughput"] as const).filter((k) =>
    base.some((r) => r.kind === k) && next.some((r) => r.kind === k)
  );
  const rows: ComparisonRow[] = [];
  const qs = settings.percentiles.map((p) => p / 100);
  for (const kind of kinds) {
    const a = base.filter((r) => r.kind === kind);
    const b = next.filter((r) => r.kind === kind);
    for (const group of groupsOf([...a, ...b], "distributions")) {
      const sa = a.filter((r) => r.distributions[group]?.total > 0);
      const sb = b.filter((r) => r.distributions[group]?.total > 0);
      if (sa.length === 0 || sb.length === 0) continue;
      const side = (runs: CompareRun[], s: number) => {
        const blocks = runs.map((r) => r.distributions[group]);
        const reps = blocks.map((bl, i) => bootstrapQuantiles(bl, qs, seedOf(s, i, group)));
        return qs.map((q, j): SideStatistic => ({
          pooled: pooledQuantile(blocks, q),
          runs: blocks.map((bl, i): RunStatistic => ({
            value: blocksQuantile(bl, q),
            replicates: reps[i][j],
            samples: bl.total,
          })),
        }));
      };
      const left = side(sa, 0);
      const right = side(sb, 1);
      settings.percentiles.forEach((p, j) => {
        const d = difference(left[j], right[j], {
          confidence: settings.confidence,
          lowerIsBetter: true,
          needSamples: samplesNeeded(qs[j], settings.confidence),
        });
        rows.push({
          ...d,
          kind,
          group,
          metric: `p${p}`,
          percentile: p,
          unit: "us",
          fewestSamples: Math.min(...[...sa, ...sb].map((r) => r.distributions[group].total)),
        });
      });
    }
    for (const group of groupsOf([...a, ...b], "rates")) {
      const sa = a.filter((r) => r.rates[group]?.total > 0);
      const sb = b.filter((r) => r.rates[group]?.total > 0);
      if (sa.length === 0 || sb.length === 0) continue;
      const side = (runs: CompareRun[], s: number): SideStatistic => {
        const blocks = runs.map((r) => r.rates[group]);
        return {
          pooled: pooledMean(blocks),
          runs: blocks.map((bl, i) => ({
            value: blocksMean(bl),
            replicates: bootstrapMean(bl, seedOf(s, i, group)),
            samples: bl.total,
          })),
        };
      };
      const d = difference(side(sa, 0), side(sb, 1), {
        confidence: settings.confidence,
        lowerIsBetter: false,
        needSamples: MIN_INTERVALS,
      });
      rows.push({
        ...d,
        kind,
        group,
        metric: "mean",
        percentile: null,
        unit: "bit/s",
        fewestSamples: Math.min(...[...sa, ...sb].map((r) => r.rates[group].total)),
      });
    }
  }

  const gates: GateResult[] = [];
  for (const gate of settings.gates) {
    const matching = rows.filter((r) =>
      gate.metric === "mean" ? r.metric === "mean" : r.percentile === gate.percentile
    );
    if (matching.length === 0) {
      gates.push({
        gate: gate.text,
        row: "-",
        outcome: "not judged",
        reason: gate.metric === "mean"
          ? "no throughput run on both sides"
          : "no latency, connect or responsiveness run on both sides",
      });
    }
    for (const r of matching) {
      if (gate.unit === "us" && r.unit !== "us") continue;
      if (gate.unit === "bit/s" && r.unit !== "bit/s") continue;
      gates.push(judgeGate(gate, { ...r, name: rowName(r) }));
    }
  }

  return {
    confidence: settings.confidence,
    percentiles: settings.percentiles,
    base: base.map((r) => ({ label: r.label, path: r.path, kind: r.kind })),
    new: next.map((r) => ({ label: r.label, path: r.path, kind: r.kind })),
    kinds,
    rows,
    warnings: runWarnings(base, next, kinds),
    notes: conclusivenessNotes(rows, base, next),
    gates,
    failed: gates.some((g) => g.outcome === "failed"),
  };
}

/** "latency rtt p99", "throughput up mean". */
export function rowName(row: { kind: string; group: string; metric: string }): string {
  return row.group === row.kind
    ? `${row.kind} ${row.metric}`
    : `${row.kind} ${row.group} ${row.metric}`;
}

/** What it would take to turn the inconclusive rows into answers. */
function conclusivenessNotes(
  rows: readonly ComparisonRow[],
  base: readonly CompareRun[],
  next: readonly CompareRun[],
): string[] {
  const notes: string[] = [];
  const thin = rows.filter((r) => r.verdict === "not enough samples");
  if (thin.length > 0) {
    notes.push(
      `Not enough samples for ${
        thin.map((r) =>
          `${rowName(r)} (need about ${r.needSamples!.toLocaleString("en-US")} per run, fewest ${
            r.fewestSamples.toLocaleString("en-US")
          })`
        )
          .join(", ")
      }`,
    );
  }
  const single = rows.filter((r) => r.verdict === "need more runs");
  if (single.length > 0) {
    notes.push(
      `One run per side: ${
        single.map(rowName).join(", ")
      } differ beyond the noise within the runs, but runs of one configuration differ from each other too; repeat each side (5 runs each is a good start) for a verdict`,
    );
  }
  const open = rows.filter((r) => r.verdict === "no difference" && r.moreDataFactor !== null);
  const runsPerSide = Math.max(base.length, next.length);
  for (const r of open) {
    const factor = r.moreDataFactor!;
    // The interval narrows as 1/√(data): this much more data would bring its half-width to the
    // difference (a rough guide: the t multiplier shrinks too, with more runs).
    if (factor > 100) {
      notes.push(
        `${rowName(r)}: the difference is far inside the noise (over 100 times more ${
          r.method === "between runs" ? "runs" : "samples"
        } would be needed to tell it apart)`,
      );
      continue;
    }
    const more = r.method === "between runs"
      ? `about ${Math.ceil(factor * runsPerSide)} runs per side`
      : `about ${Math.ceil(factor * r.fewestSamples).toLocaleString("en-US")} samples per run`;
    notes.push(
      `${rowName(r)}: a difference this size would need ${more} to tell from noise`,
    );
  }
  return notes;
}
