/**
 * The agent's lossless record: one HdrHistogram interval log per peer and
 * probe kind (written with `lib/hlog`), plus one CSV of probe, failure and
 * loss counts per interval, all under `DIR/<source>/`. Files are rotated
 * when they reach a share of `--hlog-max-bytes`, and the oldest finished
 * files are deleted so the directory stays under it. Every finished
 * interval is on disk within a second or so of its end, and all of them
 * when the agent stops.
 *
 * Layout (the tag `<source>/<target>/<probe>` inside each log names the
 * series; file names are only unique):
 *
 * ```text
 * DIR/node-a/node-b_tcp_20261127T144432Z.hlog
 * DIR/node-a/counts_20261127T144432Z.csv
 * ```
 *
 * @module
 */
import { HlogRecording, hlogTag } from "../hlog/mod.ts";
import { CsvWriter } from "../csv_writer.ts";
import { RunError } from "../errors.ts";
import type { OutcomeSink, ProbeKind, ProbeOutcome, UdpEvent } from "./outcome.ts";

/** Columns of the counts CSV: one row per interval, target and probe kind. */
export const AGENT_COUNTS_CSV_HEADER = [
  "interval_start_ms",
  "interval_end_ms",
  "source",
  "target",
  "probe",
  "probes",
  "failures",
  "udp_lost",
] as const;

/** Options of {@linkcode AgentHlogs.start}. */
export interface AgentHlogOptions {
  /** The hlog directory; files go to `dir/<source>/`. */
  dir: string;
  source: string;
  intervalMs: number;
  /** The directory's budget, bytes. */
  maxBytes: number;
  /** How long after an interval a probe that started in it may still end: the probe time limit. */
  lateMs: number;
}

/** The smallest file worth rotating to. */
const MIN_ROTATE_BYTES = 2048;

/** Smallest `--hlog-max-bytes`: room for a few intervals of many pairs. */
export const MIN_HLOG_MAX_BYTES = 16 * 1024;

/** A file name stamp: 20261127T144432Z (plus a counter when two start in one second). */
function stamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

interface Counts {
  probes: number;
  failures: number;
  lost: number;
}

/** Writes the agent's hlogs and counts; an {@linkcode OutcomeSink}. */
export class AgentHlogs implements OutcomeSink {
  readonly dir: string;
  #options: AgentHlogOptions;
  #logs = new Map<string, HlogRecording>();
  #counts?: CsvWriter;
  /** Counts of the current interval per `target probe`. */
  #open = new Map<string, Counts>();
  #openIndex: number;
  #timer: ReturnType<typeof setInterval>;
  #stamps = new Set<string>();
  #closed = false;

  private constructor(options: AgentHlogOptions) {
    this.#options = options;
    this.dir = `${options.dir}/${options.source}`;
    this.#openIndex = Math.floor(Date.now() / options.intervalMs);
    this.#timer = setInterval(() => this.flush(Date.now()), 1000);
  }

  /** Creates the directory; throws a {@linkcode RunError} if it cannot. */
  static async start(options: AgentHlogOptions): Promise<AgentHlogs> {
    const sink = new AgentHlogs(options);
    try {
      await Deno.mkdir(sink.dir, { recursive: true });
    } catch (error) {
      clearInterval(sink.#timer);
      throw new RunError(
        `Cannot create hlog directory "${sink.dir}": ${(error as Error).message}`,
      );
    }
    sink.#counts = await CsvWriter.create(sink.#newPath("counts", "csv"), [
      ...AGENT_COUNTS_CSV_HEADER,
    ]);
    return sink;
  }

  #newPath(prefix: string, ext: string): string {
    let name = `${prefix}_${stamp(Date.now())}`;
    for (let n = 2; this.#stamps.has(name); n++) name = `${prefix}_${stamp(Date.now())}-${n}`;
    this.#stamps.add(name);
    return `${this.dir}/${name}.${ext}`;
  }

  #log(target: string, probe: ProbeKind): HlogRecording {
    const key = `${target}\u0000${probe}`;
    let log = this.#logs.get(key);
    if (!log) {
      log = HlogRecording.open({
        path: this.#newPath(`${target}_${probe}`, "hlog"),
        intervalMs: this.#options.intervalMs,
        lateMs: this.#options.lateMs,
        comments: [
          `netspeed agent ${this.#options.source} -> ${target} ${probe}: ` +
          `round-trip times recorded in nanoseconds, Interval_Max in microseconds`,
        ],
      });
      log.begin(Date.now());
      this.#logs.set(key, log);
    }
    return log;
  }

  record(outcome: ProbeOutcome): void {
    if (this.#closed) return;
    const nowMs = Date.now();
    this.#rollCounts(nowMs);
    const key = `${outcome.target}\u0000${outcome.probe}`;
    let counts = this.#open.get(key);
    if (!counts) this.#open.set(key, counts = { probes: 0, failures: 0, lost: 0 });
    counts.probes++;
    if (outcome.failure !== undefined) {
      counts.failures++;
      if (outcome.failure === "lost") counts.lost++;
      return;
    }
    const tag = hlogTag(this.#options.source, outcome.target, outcome.probe);
    this.#log(outcome.target, outcome.probe).recordUs(
      tag,
      nowMs - outcome.rttUs / 1000,
      outcome.rttUs,
    );
  }

  recordUdpEvent(_target: string, _event: UdpEvent): void {}

  /** Finishes the logs of a peer no longer probed (a late echo would open a new file). */
  forgetTarget(target: string): void {
    if (this.#closed) return;
    const nowMs = Date.now();
    for (const [key, log] of this.#logs) {
      if (key.split("\u0000")[0] !== target) continue;
      log.finish(nowMs);
      this.#logs.delete(key);
    }
  }

  /** Writes the counts of intervals that are over (by completion time). */
  #rollCounts(nowMs: number, force = false): void {
    const index = Math.floor(nowMs / this.#options.intervalMs);
    if (!force && index === this.#openIndex) return;
    const { intervalMs, source } = this.#options;
    const rows = [...this.#open].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, c]) => {
      const [target, probe] = key.split("\u0000");
      const startMs = this.#openIndex * intervalMs;
      return [
        startMs,
        force ? Math.min(nowMs, startMs + intervalMs) : startMs + intervalMs,
        source,
        target,
        probe,
        c.probes,
        c.failures,
        c.lost,
      ];
    });
    this.#counts?.writeRows(rows);
    this.#open.clear();
    this.#openIndex = index;
  }

  /** Writes what is due, rotates full files and deletes the oldest beyond the budget. */
  flush(nowMs: number): void {
    if (this.#closed) return;
    this.#rollCounts(nowMs);
    const rotateBytes = this.#rotateBytes();
    let rotated = false;
    for (const [key, log] of this.#logs) {
      const before = log.intervalCount;
      log.flushDue(nowMs);
      if (log.intervalCount === before) continue;
      if (fileSize(log.path) >= rotateBytes) {
        log.finish(nowMs);
        this.#logs.delete(key);
        rotated = true;
      }
    }
    if (this.#counts && fileSize(this.#counts.path) >= rotateBytes) {
      this.#counts.close();
      this.#counts = undefined;
      rotated = true;
    }
    if (rotated) this.#prune();
    if (!this.#counts) {
      CsvWriter.create(this.#newPath("counts", "csv"), [...AGENT_COUNTS_CSV_HEADER]).then(
        (writer) => this.#closed ? writer.close() : (this.#counts ??= writer),
      );
    }
  }

  /**
   * Open files (the logs and the counts CSV) share a quarter of the budget
   * and rotate when they reach their share, so pruning the finished files
   * to three quarters keeps the whole directory within it.
   */
  #rotateBytes(): number {
    return Math.max(
      MIN_ROTATE_BYTES,
      Math.floor(this.#options.maxBytes / 4 / Math.max(1, this.#logs.size + 1)),
    );
  }

  /** Deletes the oldest finished files until the directory leaves room for the open ones to grow. */
  #prune(budget = this.#options.maxBytes - (this.#logs.size + 1) * this.#rotateBytes()): void {
    const open = new Set([...this.#logs.values()].map((log) => log.path));
    if (this.#counts) open.add(this.#counts.path);
    const files: { path: string; bytes: number; mtimeMs: number }[] = [];
    for (const entry of Deno.readDirSync(this.dir)) {
      if (!entry.isFile) continue;
      const path = `${this.dir}/${entry.name}`;
      try {
        const info = Deno.statSync(path);
        files.push({ path, bytes: info.size, mtimeMs: info.mtime?.getTime() ?? 0 });
      } catch { /* deleted meanwhile */ }
    }
    let total = files.reduce((sum, file) => sum + file.bytes, 0);
    const finished = files.filter((f) => !open.has(f.path)).sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const file of finished) {
      if (total <= budget) break;
      try {
        Deno.removeSync(file.path);
        total -= file.bytes;
      } catch { /* already gone */ }
    }
  }

  /** Writes every interval left and closes every file. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    clearInterval(this.#timer);
    const nowMs = Date.now();
    this.#rollCounts(nowMs, true);
    this.#closed = true;
    for (const log of this.#logs.values()) log.finish(nowMs);
    this.#counts?.close();
    this.#counts = undefined;
    this.#logs.clear();
    this.#prune(this.#options.maxBytes);
    return Promise.resolve();
  }
}

function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}
