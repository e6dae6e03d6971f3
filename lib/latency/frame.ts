/**
 * The open-loop message: a fixed-size payload whose first bytes say which
 * connection sent it, its sequence number and when it was meant to leave.
 * The header travels inside the payload, so a plain RFC 862 echo server,
 * which returns bytes without looking at them, is all the server there is
 * to it. Over TCP the echo keeps the order of the bytes, so replies are cut
 * out of the stream `size` bytes at a time and the header only confirms
 * what the order already says; over UDP each datagram is one message and
 * the header is how replies find their request.
 *
 * Layout, little-endian: u32 connection id, u32 sequence number, f64
 * intended send time in µs since the run started; random bytes after.
 *
 * @module
 */

/** Bytes of the header; open-loop messages are at least this long. */
export const FRAME_HEADER_BYTES = 16;

/** What the header of a message says. */
export interface FrameHeader {
  connection: number;
  seq: number;
  /** Intended send time, µs since the run started. */
  intendedUs: number;
}

/** Writes the header into the first {@linkcode FRAME_HEADER_BYTES} of `message`. */
export function writeFrameHeader(message: Uint8Array, header: FrameHeader): void {
  const view = new DataView(message.buffer, message.byteOffset, FRAME_HEADER_BYTES);
  view.setUint32(0, header.connection, true);
  view.setUint32(4, header.seq, true);
  view.setFloat64(8, header.intendedUs, true);
}

/** Reads the header of a message at least {@linkcode FRAME_HEADER_BYTES} long. */
export function readFrameHeader(message: Uint8Array): FrameHeader {
  const view = new DataView(message.buffer, message.byteOffset, FRAME_HEADER_BYTES);
  return {
    connection: view.getUint32(0, true),
    seq: view.getUint32(4, true),
    intendedUs: view.getFloat64(8, true),
  };
}

/**
 * Cuts a byte stream into messages of `sizeBytes`, whatever the chunking
 * of the reads: a message that lies whole in a chunk is handed over as a
 * view of it (no copy), one split across reads is assembled in a buffer.
 * The view is only valid during the callback.
 */
export class MessageSplitter {
  readonly sizeBytes: number;
  #partial: Uint8Array;
  #filled = 0;

  constructor(sizeBytes: number) {
    this.sizeBytes = sizeBytes;
    this.#partial = new Uint8Array(sizeBytes);
  }

  /** Bytes of a message received so far but not yet complete. */
  get pendingBytes(): number {
    return this.#filled;
  }

  /** Feeds one read's bytes; calls `onMessage` for every message they complete, in order. */
  feed(chunk: Uint8Array, onMessage: (message: Uint8Array) => void): void {
    const size = this.sizeBytes;
    let offset = 0;
    if (this.#filled > 0) {
      const take = Math.min(size - this.#filled, chunk.length);
      this.#partial.set(chunk.subarray(0, take), this.#filled);
      this.#filled += take;
      offset = take;
      if (this.#filled < size) return;
      this.#filled = 0;
      onMessage(this.#partial);
    }
    while (chunk.length - offset >= size) {
      onMessage(chunk.subarray(offset, offset + size));
      offset += size;
    }
    if (offset < chunk.length) {
      this.#partial.set(chunk.subarray(offset), 0);
      this.#filled = chunk.length - offset;
    }
  }
}
