/**
 * Connection limits shared by every server thread: how many connections are
 * open over the whole server, and how many each client (source address)
 * holds. The counts live in a `SharedArrayBuffer` that each Worker wraps
 * with its own {@linkcode ConnectionSlots}, and change only through
 * `Atomics`, so threads never wait for each other.
 *
 * Per-client counts are kept in a count-min sketch: every address adds
 * one to a counter in each of two rows of 65,536, picked by two hashes, and
 * its count is the smaller of the two. That needs no table of addresses
 * (whose entries could not be removed safely across threads), uses fixed
 * memory however many clients come, and can only overestimate: a client is
 * refused early only when both its counters are shared with clients that
 * are near the limit themselves, never admitted beyond it.
 *
 * @module
 */

/** Counters in each row of the per-client sketch. */
const SKETCH_WIDTH = 1 << 16;

/** Index of the whole-server open-connection count in the shared array. */
const OPEN_INDEX = 0;

/** Int32 cells: the open count, then two sketch rows. */
const CELLS = 1 + 2 * SKETCH_WIDTH;

/** Limits on connections, for the whole server whatever its thread count. */
export interface ConnectionLimits {
  /** Connections open at once across all services and threads. @default {10000} */
  maxConnections: number;
  /** Connections open at once from one source address; 0 means no per-client limit. @default {0} */
  maxPerClient: number;
}

/** Why a connection was not admitted. */
export type Refusal = "server-full" | "client-full";

/** What {@linkcode ConnectionSlots.tryOpen} hands back: a slot to release later, or a refusal. */
export type SlotResult = { ok: true; slot: Slot } | { ok: false; reason: Refusal };

/** An admitted connection's cells, released once when it closes. */
export interface Slot {
  readonly cells: readonly number[];
}

/** Two independent 32-bit FNV-1a hashes of an address, as sketch cells. */
export function sketchCells(address: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return [1 + ((a >>> 0) % SKETCH_WIDTH), 1 + SKETCH_WIDTH + ((b >>> 0) % SKETCH_WIDTH)];
}

/** One thread's view of the shared counts. */
export class ConnectionSlots {
  readonly buffer: SharedArrayBuffer;
  readonly limits: ConnectionLimits;
  #cells: Int32Array;

  /**
   * Wraps `buffer` (from {@linkcode ConnectionSlots.createBuffer}); every
   * thread of one server passes the same buffer and the same limits.
   */
  constructor(buffer: SharedArrayBuffer, limits: ConnectionLimits) {
    this.buffer = buffer;
    this.limits = limits;
    this.#cells = new Int32Array(buffer);
  }

  /** A zeroed buffer for a new server (about 512 KiB). */
  static createBuffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(CELLS * Int32Array.BYTES_PER_ELEMENT);
  }

  /** Connections open right now over the whole server. */
  get open(): number {
    return Atomics.load(this.#cells, OPEN_INDEX);
  }

  /**
   * Admits a connection from `address` if both limits allow it. Counts are
   * raised first and checked after, so two threads racing for the last slot
   * can both be refused but never both admitted.
   */
  tryOpen(address: string): SlotResult {
    const cells = this.#cells;
    if (Atomics.add(cells, OPEN_INDEX, 1) >= this.limits.maxConnections) {
      Atomics.sub(cells, OPEN_INDEX, 1);
      return { ok: false, reason: "server-full" };
    }
    if (this.limits.maxPerClient <= 0) return { ok: true, slot: { cells: [OPEN_INDEX] } };
    const [a, b] = sketchCells(address);
    const count = Math.min(Atomics.add(cells, a, 1), Atomics.add(cells, b, 1));
    if (count >= this.limits.maxPerClient) {
      Atomics.sub(cells, a, 1);
      Atomics.sub(cells, b, 1);
      Atomics.sub(cells, OPEN_INDEX, 1);
      return { ok: false, reason: "client-full" };
    }
    return { ok: true, slot: { cells: [OPEN_INDEX, a, b] } };
  }

  /** Gives back what {@linkcode ConnectionSlots.tryOpen} took; call once per admitted slot. */
  release(slot: Slot): void {
    for (const cell of slot.cells) Atomics.sub(this.#cells, cell, 1);
  }
}
