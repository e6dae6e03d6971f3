/**
 * `compare`'s text: one table per compared group, then warnings, what a
 * conclusive answer would need, and the gates. Pure.
 *
 * @module
 */
import { formatBitsPerSec, formatTable } from "../table.ts";
import { formatChange, formatDuration } from "../report/format.ts";
import { type Comparison, type ComparisonRow, rowName } from "./comparison.ts";

/** A signed figure in its unit: "+512 µs", "−3.10 Mbit/s". */
export function formatSigned(value: number, unit: ComparisonRow["unit"]): string {
  const sign = value > 0 ? "+" : value < 0 ? "−" : "±";
  return sign + formatValue(Math.abs(value), unit);
}

/** A figure in its unit. */
export function formatValue(value: number, unit: ComparisonRow["unit"]): string {
  return unit === "us" ? formatDuration(value) : formatBitsPerSec(value);
}

/** "+5.61 µs to +6.93 µs", or "-" without an interval. */
export function formatInterval(row: ComparisonRow): string {
  if (row.low === null || row.high === null) return "-";
  return `${formatSigned(row.low, row.unit)} to ${formatSigned(row.high, row.unit)}`;
}

/** The verdict as the table prints it: "not enough samples (need about 10,000)". */
export function formatVerdict(row: ComparisonRow): string {
  if (row.verdict === "not enough samples" && row.needSamples !== null) {
    return `not enough samples (need about ${row.needSamples.toLocaleString("en-US")})`;
  }
  return row.verdict;
}

/** The whole comparison as text for the terminal. */
export function formatComparison(c: Comparison): string {
  const percent = `${+(c.confidence * 100).toFixed(2)}%`;
  const out: string[] = [];
  const groups = new Map<string, ComparisonRow[]>();
  for (const r of c.rows) {
    const key = r.group === r.kind ? r.kind : `${r.kind} ${r.group}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [name, rows] of groups) {
    const kind = rows[0].kind;
    const count = (side: Comparison["base"]) => side.filter((r) => r.kind === kind).length;
    const runs = (n: number) => `${n} run${n === 1 ? "" : "s"}`;
    out.push(
      `${name}: ${runs(count(c.base))} (base) vs ${runs(count(c.new))} (new), fewest ${
        rows[0].unit === "bit/s" ? "intervals" : "samples"
      } in a run ${rows[0].fewestSamples.toLocaleString("en-US")}`,
    );
    out.push(formatTable(
      ["", "base", "new", "difference", "change", `${percent} interval`, "verdict"],
      rows.map((r) => [
        r.metric,
        formatValue(r.base, r.unit),
        formatValue(r.new, r.unit),
        formatSigned(r.difference, r.unit),
        formatChange(r.changePercent),
        formatInterval(r),
        formatVerdict(r),
      ]),
      ["left", "right", "right", "right", "right", "right", "left"],
    ));
    const method = rows.find((r) => r.method !== "none")?.method;
    out.push(
      method === "within one run"
        ? "Interval: block bootstrap over time windows within each run; it leaves run-to-run variation out, so a difference beyond it needs more runs to be called."
        : method === "between runs"
        ? "Interval: t interval over the runs' own figures (run-to-run variation; min(runs) − 1 degrees of freedom), never narrower than the block bootstrap within runs."
        : "No interval: too few samples.",
    );
    out.push("");
  }
  if (c.warnings.length > 0) {
    out.push("Warnings:");
    for (const w of c.warnings) out.push(`  ${w}`);
    out.push("");
  }
  if (c.notes.length > 0) {
    out.push("To be conclusive:");
    for (const n of c.notes) out.push(`  ${n}`);
    out.push("");
  }
  for (const g of c.gates) {
    out.push(
      `Gate "${g.gate}" ${
        g.outcome === "not judged" ? "not judged" : g.outcome
      } on ${g.row}: ${g.reason}`,
    );
  }
  return out.join("\n").trimEnd();
}

/** One line per row, for headlines: "p99 +12.0 µs (+8.1%), 95% interval … : worse". */
export function rowSentence(row: ComparisonRow, confidence: number): string {
  const interval = row.low === null
    ? ""
    : `, ${+(confidence * 100).toFixed(2)}% interval ${formatInterval(row)}`;
  return `${rowName(row)} ${formatSigned(row.difference, row.unit)} (${
    formatChange(row.changePercent)
  })${interval}: ${formatVerdict(row)}`;
}
