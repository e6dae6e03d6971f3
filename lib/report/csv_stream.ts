/**
 * Streams a CSV file row by row without ever holding the file, or a string
 * of it, in memory: bytes are read in chunks, split into lines, and each
 * row is handed over as a reusable view whose fields are parsed on demand
 * from the bytes. A 10-million-row latency CSV is read in seconds and in a
 * few megabytes.
 *
 * Rows written by netspeed never need quoting; rows that do contain a
 * quote (from a spreadsheet, say) take a slower path that follows RFC 4180
 * within the line.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** One data row: fields by column index, parsed on demand. Valid only during the callback. */
export interface CsvRow {
  /** Line number in the file, 1 for the header. */
  readonly line: number;
  /** Number of fields on the line. */
  readonly fieldCount: number;
  /** Whether field `i` is empty (or missing). */
  isEmpty(i: number): boolean;
  /** Field `i` as a number; NaN when empty or not a number. */
  number(i: number): number;
  /** Field `i` as text, surrounding spaces kept. */
  text(i: number): string;
}

/** Called with the header's column names; returns the row handler. */
export type HeaderHandler = (columns: string[]) => (row: CsvRow) => void;

/** What reading a file found. */
export interface CsvReadResult {
  /** Data rows handed to the row handler. */
  rows: number;
  /** Bytes read. */
  bytes: number;
  /**
   * Line number of a last line without a line end, which was skipped:
   * netspeed ends every row it writes with one, so such a line was cut off
   * mid-write (a run killed, a disk that filled up). Null when the file ends
   * with a line end.
   */
  tornLastLine: number | null;
}

/** Bytes per read; a line may be longer, up to {@linkcode MAX_LINE_BYTES}. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/** A longer line is not a CSV row we could have written. */
export const MAX_LINE_BYTES = 1 << 24;

const COMMA = 0x2c;
const QUOTE = 0x22;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const utf8 = new TextDecoder();

/**
 * The view handed to the row handler: field offsets of the current line in
 * the read buffer, or the parsed strings of a quoted line.
 */
class RowView implements CsvRow {
  line = 0;
  fieldCount = 0;
  bytes: Uint8Array = new Uint8Array(0);
  starts = new Int32Array(16);
  ends = new Int32Array(16);
  /** Set when the line had quotes and was parsed into strings. */
  strings: string[] | null = null;

  isEmpty(i: number): boolean {
    if (i >= this.fieldCount) return true;
    if (this.strings) return this.strings[i] === "";
    return this.starts[i] === this.ends[i];
  }

  number(i: number): number {
    if (i >= this.fieldCount) return NaN;
    if (this.strings) return parseNumberText(this.strings[i]);
    return parseNumberBytes(this.bytes, this.starts[i], this.ends[i]);
  }

  text(i: number): string {
    if (i >= this.fieldCount) return "";
    if (this.strings) return this.strings[i];
    const start = this.starts[i];
    const end = this.ends[i];
    // Short ASCII fields (error kinds, directions, phases) skip the UTF-8
    // decoder; one char at a time, as spreading a subarray is several times slower.
    if (end - start <= 16) {
      let text = "";
      let k = start;
      for (; k < end && this.bytes[k] <= 0x7f; k++) text += String.fromCharCode(this.bytes[k]);
      if (k === end) return text;
    }
    return utf8.decode(this.bytes.subarray(start, end));
  }

  /**
   * Points the view at `bytes[start, end)`, splitting at commas. Returns
   * false, for the caller to take the quoted path, when the line has a quote.
   */
  split(bytes: Uint8Array, start: number, end: number): boolean {
    this.bytes = bytes;
    this.strings = null;
    let field = 0;
    let fieldStart = start;
    for (let k = start; k < end; k++) {
      const byte = bytes[k];
      if (byte === COMMA) {
        this.#set(field++, fieldStart, k);
        fieldStart = k + 1;
      } else if (byte === QUOTE) {
        return false;
      }
    }
    this.#set(field++, fieldStart, end);
    this.fieldCount = field;
    return true;
  }

  #set(field: number, start: number, end: number): void {
    if (field >= this.starts.length) {
      const starts = new Int32Array(this.starts.length * 2);
      const ends = new Int32Array(this.ends.length * 2);
      starts.set(this.starts);
      ends.set(this.ends);
      this.starts = starts;
      this.ends = ends;
    }
    this.starts[field] = start;
    this.ends[field] = end;
  }
}

/**
 * Parses a plain decimal (`-12.345`) straight from bytes; anything else
 * (exponents, spaces, `+`) goes through `Number()`. NaN when empty or invalid.
 */
export function parseNumberBytes(bytes: Uint8Array, start: number, end: number): number {
  if (start >= end) return NaN;
  let k = start;
  let negative = false;
  if (bytes[k] === MINUS) {
    negative = true;
    k++;
  }
  let value = 0;
  let digits = 0;
  while (k < end && bytes[k] >= ZERO && bytes[k] <= NINE) {
    value = value * 10 + (bytes[k++] - ZERO);
    digits++;
  }
  if (k < end && bytes[k] === DOT) {
    k++;
    let scale = 1;
    let fraction = 0;
    while (k < end && bytes[k] >= ZERO && bytes[k] <= NINE) {
      fraction = fraction * 10 + (bytes[k++] - ZERO);
      scale *= 10;
      digits++;
    }
    value += fraction / scale;
  }
  // 15 digits keep the arithmetic above exact enough; longer ones take the slow path.
  if (k === end && digits > 0 && digits <= 15) return negative ? -value : value;
  return parseNumberText(utf8.decode(bytes.subarray(start, end)));
}

/** `Number()` that refuses what `Number()` forgives: empty strings and spaces. */
export function parseNumberText(text: string): number {
  if (text.trim() === "" || text !== text.trim()) return NaN;
  return Number(text);
}

/**
 * Splits one line with quoted fields by RFC 4180 rules: `"a,b"` is one
 * field and `""` inside quotes is a quote. Returns null when a quote is
 * left open (a field with a newline in it, which our files never have).
 */
export function splitQuotedLine(line: string): string[] | null {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      fields.push(field);
      field = "";
    } else {
      field += c;
    }
    i++;
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}

/**
 * Reads `path` line by line: the first non-empty line goes to `onHeader`,
 * which returns the handler of every data row. Blank lines are skipped.
 * Throws {@linkcode UsageError} (exit 2) naming the file when it cannot be
 * opened, is empty, or has a line too long to be a row.
 */
export async function readCsvFile(
  path: string,
  onHeader: HeaderHandler,
  chunkBytes: number = DEFAULT_CHUNK_BYTES,
): Promise<CsvReadResult> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new UsageError(`Cannot read CSV file "${path}": ${reason}`);
  }
  using _ = file;
  let buffer = new Uint8Array(Math.max(chunkBytes, 16) * 2);
  let length = 0;
  let bytesRead = 0;
  let lineNumber = 0;
  let rows = 0;
  let onRow: ((row: CsvRow) => void) | undefined;
  const view = new RowView();

  const handleLine = (start: number, end: number) => {
    lineNumber++;
    if (end > start && buffer[end - 1] === RETURN) end--;
    if (end === start) return;
    if (!onRow) {
      let text = utf8.decode(buffer.subarray(start, end));
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      const columns = splitQuotedLine(text);
      if (!columns) {
        throw new UsageError(
          `Cannot read CSV file "${path}": line ${lineNumber} has an open quote`,
        );
      }
      onRow = onHeader(columns.map((c) => c.trim()));
      return;
    }
    view.line = lineNumber;
    if (!view.split(buffer, start, end)) {
      const fields = splitQuotedLine(utf8.decode(buffer.subarray(start, end)));
      // An open quote leaves no fields at all: the row handler sees it as malformed.
      view.strings = fields ?? [];
      view.fieldCount = view.strings.length;
    }
    rows++;
    onRow(view);
  };

  while (true) {
    if (length === buffer.length) {
      if (buffer.length >= MAX_LINE_BYTES) {
        throw new UsageError(
          `Cannot read CSV file "${path}": line ${lineNumber + 1} is longer than ${
            MAX_LINE_BYTES >> 20
          } MiB`,
        );
      }
      const bigger = new Uint8Array(buffer.length * 2);
      bigger.set(buffer);
      buffer = bigger;
    }
    const n = await file.read(
      buffer.subarray(length, Math.min(buffer.length, length + chunkBytes)),
    );
    if (n === null) break;
    bytesRead += n;
    const scanFrom = length;
    length += n;
    const data = buffer.subarray(0, length);
    let lineStart = 0;
    let newline = data.indexOf(NEWLINE, scanFrom);
    while (newline !== -1) {
      handleLine(lineStart, newline);
      lineStart = newline + 1;
      newline = data.indexOf(NEWLINE, lineStart);
    }
    if (lineStart > 0) {
      buffer.copyWithin(0, lineStart, length);
      length -= lineStart;
    }
  }
  // A last line without its newline was cut off mid-write (SIGKILL, a full
  // disk): skipped, and said so. A header, though, is read as it is.
  let tornLastLine: number | null = null;
  if (length > 0) {
    if (onRow) tornLastLine = lineNumber + 1;
    else handleLine(0, length);
  }
  if (!onRow) {
    throw new UsageError(`Cannot read CSV file "${path}": it is empty (no header line)`);
  }
  return { rows, bytes: bytesRead, tornLastLine };
}
