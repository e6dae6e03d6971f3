/**
 * Appends CSV rows to a file as they are measured, so a crash or Ctrl-C
 * keeps every row written so far and a long run never holds its samples in
 * memory.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";
import { RunError } from "./errors.ts";

/** A CSV cell: numbers are written as given, so format them before. */
export type CsvCell = string | number;

/** Writes a header once, then batches of rows, each batch in one write. */
export class CsvWriter {
  #file: Deno.FsFile;
  #encoder = new TextEncoder();
  #rows = 0;
  readonly path: string;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /** Creates (or truncates) `path` and writes the header row. */
  static async create(path: string, header: readonly string[]): Promise<CsvWriter> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { write: true, create: true, truncate: true });
    } catch (error) {
      throw new RunError(`Cannot create CSV file "${path}": ${(error as Error).message}`);
    }
    const writer = new CsvWriter(path, file);
    writer.#writeText(stringify([header as string[]]));
    return writer;
  }

  /** Number of data rows written so far. */
  get rowCount(): number {
    return this.#rows;
  }

  /** Appends rows; written synchronously so nothing waits in a buffer when a signal arrives. */
  writeRows(rows: CsvCell[][]): void {
    if (rows.length === 0) return;
    this.#writeText(stringify(rows));
    this.#rows += rows.length;
  }

  #writeText(text: string): void {
    const bytes = this.#encoder.encode(text);
    let offset = 0;
    while (offset < bytes.length) offset += this.#file.writeSync(bytes.subarray(offset));
  }

  /** Closes the file; further writes throw. */
  close(): void {
    this.#file.close();
  }
}
