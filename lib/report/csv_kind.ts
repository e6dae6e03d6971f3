/**
 * Which netspeed CSV a header belongs to, and where its columns are. Columns
 * are found by name, never by position, and unknown extra columns (such as
 * the open-loop `intended_us`) are ignored, so files from older and newer
 * versions, or reordered by a spreadsheet, still read.
 *
 * @module
 */

/** The kinds of CSV the report reads. */
export type CsvKind = "latency" | "connect" | "throughput" | "responsiveness";

/** Columns each kind needs, by name. */
export const REQUIRED_COLUMNS: Readonly<Record<CsvKind, readonly string[]>> = Object.freeze({
  latency: ["worker", "connection", "start_us", "rtt_us", "error"],
  connect: ["worker", "start_us", "connect_us", "error"],
  throughput: [
    "stream",
    "direction",
    "interval_start_s",
    "interval_end_s",
    "bytes",
  ],
  responsiveness: ["phase", "probe", "start_us", "rtt_us", "error"],
});

/**
 * The column that tells each kind apart. A responsiveness CSV has `rtt_us`
 * too; its `probe` column tells it from a latency CSV.
 */
const MARKER: Readonly<Record<CsvKind, string>> = Object.freeze({
  latency: "rtt_us",
  connect: "connect_us",
  throughput: "interval_start_s",
  responsiveness: "probe",
});

/** A recognised header: the kind and the index of every column it has. */
export interface CsvLayout {
  kind: CsvKind;
  /** Index of each known column present in the header. */
  index: Readonly<Record<string, number>>;
  /** Columns of the header the report does not use. */
  ignored: string[];
}

/** Columns the report uses, beyond the required ones, when present. */
const OPTIONAL_COLUMNS: Readonly<Record<CsvKind, readonly string[]>> = Object.freeze({
  latency: ["seq", "bytes"],
  connect: ["seq"],
  throughput: ["worker", "bits_per_sec", "omitted"],
  responsiveness: ["connection", "seq"],
});

/**
 * Recognises a header. Returns the layout, or a sentence saying what is
 * wrong (for the caller to prefix with the file and line).
 */
export function detectCsvLayout(columns: readonly string[]): CsvLayout | string {
  const names = columns.map((c) => c.trim().toLowerCase());
  let kinds = (Object.keys(MARKER) as CsvKind[]).filter((k) => names.includes(MARKER[k]));
  if (kinds.includes("responsiveness")) kinds = kinds.filter((k) => k !== "latency");
  if (kinds.length !== 1) {
    const expected = (Object.keys(REQUIRED_COLUMNS) as CsvKind[])
      .map((k) => `${k} (${REQUIRED_COLUMNS[k].join(",")})`)
      .join(", ");
    return `the header "${
      columns.join(",")
    }" is not one of netspeed's CSV files: expected the columns of ${expected}`;
  }
  const kind = kinds[0];
  const missing = REQUIRED_COLUMNS[kind].filter((c) => !names.includes(c));
  if (missing.length > 0) {
    return `the ${kind} CSV header lacks ${missing.length === 1 ? "column" : "columns"} ${
      missing.map((c) => `"${c}"`).join(", ")
    }`;
  }
  const duplicated = names.find((n, i) => n !== "" && names.indexOf(n) !== i);
  if (duplicated) return `the header has column "${duplicated}" twice`;
  const used = new Set([...REQUIRED_COLUMNS[kind], ...OPTIONAL_COLUMNS[kind]]);
  const index: Record<string, number> = {};
  const ignored: string[] = [];
  names.forEach((name, i) => {
    if (used.has(name)) index[name] = i;
    else ignored.push(columns[i]);
  });
  return { kind, index, ignored };
}
