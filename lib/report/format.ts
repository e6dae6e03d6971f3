/**
 * Numbers in words a reader takes in at a glance: durations with their
 * unit (µs, ms, s), counts with separators, rates per second. Pure.
 *
 * @module
 */

/** "812 ns", "48.2 µs", "1.93 ms", "2.05 s": three significant digits and the unit. */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us)) return "-";
  const abs = Math.abs(us);
  if (abs === 0) return "0 µs";
  if (abs < 1) return `${(us * 1000).toPrecision(3)} ns`;
  if (abs < 999.5) return `${us.toPrecision(3)} µs`;
  if (abs < 999_500) return `${(us / 1000).toPrecision(3)} ms`;
  return `${(us / 1e6).toPrecision(3)} s`;
}

/** "1,234,567". */
export function formatInteger(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** "41,234/s", "12.5/s", "0.25/s". */
export function formatPerSec(n: number): string {
  if (!Number.isFinite(n)) return "-";
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return `${n.toLocaleString("en-US", { maximumFractionDigits: digits })}/s`;
}

/** "+3.1%", "−0.4%", "-" when unknown. */
export function formatChange(percent: number | null): string {
  if (percent === null || !Number.isFinite(percent)) return "-";
  const sign = percent > 0 ? "+" : percent < 0 ? "−" : "±";
  return `${sign}${Math.abs(percent).toFixed(1)}%`;
}

/** "+1.90 µs", "−12.0 ms". */
export function formatSignedDuration(us: number): string {
  const sign = us > 0 ? "+" : us < 0 ? "−" : "±";
  return `${sign}${formatDuration(Math.abs(us))}`;
}

/** "12.4 s", "1 h 02 min" for long runs. */
export function formatSeconds(seconds: number): string {
  if (seconds < 100) return `${seconds.toPrecision(3)} s`;
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ${String(Math.round(seconds % 60)).padStart(2, "0")} s`;
  }
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
