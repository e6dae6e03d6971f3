/**
 * Aligned plain-text tables for terminal summaries: numbers right-aligned,
 * text left-aligned, so columns line up in any monospace terminal and
 * still read well when piped to a file.
 *
 * @module
 */

/** Column alignment. */
export type Align = "left" | "right";

/** Renders rows under a header with columns padded to their widest cell. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = header.map((_, i) => (i === 0 ? "left" : "right")),
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        align[column] === "left" ? cell.padEnd(widths[column]) : cell.padStart(widths[column])
      )
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** Formats a microsecond figure with a precision that suits its size. */
export function formatUs(valueUs: number): string {
  if (!Number.isFinite(valueUs)) return "-";
  if (valueUs < 100) return valueUs.toFixed(2);
  if (valueUs < 10_000) return valueUs.toFixed(1);
  return valueUs.toFixed(0);
}

/** Formats a count with thousands separators: 1234567 → "1,234,567". */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** Formats bits per second with an SI prefix, as iperf3 does: "941 Mbit/s". */
export function formatBitsPerSec(bitsPerSec: number): string {
  const units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];
  let value = bitsPerSec;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

/** Formats seconds as m:ss (or h:mm:ss) for progress lines. */
export function formatClock(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
