/**
 * HdrHistogram's own Java `HistogramLogProcessor` (Debian
 * libhdrhistogram-java, run by the headless JRE) as an independent reader
 * of our interval logs: what it prints is what any HdrHistogram tool sees.
 *
 * @module
 */
import { createHistogram, recordUs } from "../lib/histogram.ts";

/** Where Debian puts the HdrHistogram jar. */
const JARS = ["/usr/share/java/hdrhistogram.jar", "/usr/share/java/HdrHistogram.jar"];

/** The jar to use, or why the Java reader cannot run here. */
export function findHdrJava(): { jar: string } | { skip: string } {
  try {
    const out = new Deno.Command("java", { args: ["-version"], stdout: "null", stderr: "null" })
      .outputSync();
    if (!out.success) return { skip: "java -version failed" };
  } catch {
    return { skip: "java is not installed (Debian: default-jre-headless)" };
  }
  for (const jar of JARS) {
    try {
      Deno.statSync(jar);
      return { jar };
    } catch { /* next */ }
  }
  return { skip: `no HdrHistogram jar in ${JARS.join(" or ")} (Debian: libhdrhistogram-java)` };
}

/** The last row of the processor's CSV: totals over every interval of one tag. */
export interface JavaTotals {
  /** The CSV row as printed. */
  row: string;
  count: number;
  /** In the unit asked for with `outputValueUnitRatio` (microseconds with 1000). */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Interval rows printed. */
  intervals: number;
}

/**
 * Runs `HistogramLogProcessor -i FILE -csv -tag TAG -outputValueUnitRatio
 * 1000 -o OUT` and parses the totals of its last interval row.
 */
export async function javaLogTotals(jar: string, hlogPath: string, tag: string | null) {
  const outBase = await Deno.makeTempFile({ prefix: "netspeed-hdr-java-" });
  try {
    const args = ["-cp", jar, "org.HdrHistogram.HistogramLogProcessor", "-i", hlogPath, "-csv"];
    if (tag !== null) args.push("-tag", tag);
    args.push("-outputValueUnitRatio", "1000", "-o", outBase);
    const out = await new Deno.Command("java", {
      args,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`HistogramLogProcessor failed: ${stderr}`);
    const text = await Deno.readTextFile(outBase);
    const rows = text.split("\n").filter((l) => /^[0-9]/.test(l));
    if (rows.length === 0) throw new Error(`HistogramLogProcessor printed no interval:\n${text}`);
    // "Timestamp","Int_Count","Int_50%","Int_90%","Int_Max","Total_Count","Total_50%",
    // "Total_90%","Total_99%","Total_99.9%","Total_99.99%","Total_Max"
    const row = rows[rows.length - 1];
    const f = row.split(",").map(Number);
    return {
      row,
      count: f[5],
      p50: f[6],
      p90: f[7],
      p99: f[8],
      max: f[11],
      intervals: rows.length,
    } satisfies JavaTotals;
  } finally {
    await Deno.remove(outBase).catch(() => {});
    await Deno.remove(outBase + ".hgrm").catch(() => {});
  }
}

/**
 * Whether two microsecond figures are the same HDR value: equal, or in the
 * same bucket (netspeed clamps a percentile to the exact maximum, while a
 * histogram decoded from a log only knows the maximum's bucket).
 */
export function sameHdrValueUs(a: number, b: number): boolean {
  // A histogram holding one value answers with the top of that value's bucket.
  const bucketTop = (us: number) => {
    const histogram = createHistogram();
    recordUs(histogram, us);
    return histogram.getValueAtPercentile(50);
  };
  return a === b || bucketTop(a) === bucketTop(b);
}
