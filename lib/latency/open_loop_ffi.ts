/**
 * The TCP open loop's schedule with the FFI engine, kept in one synchronous
 * loop, as `lib/udp/ffi_schedule.ts` keeps the UDP one: the thread sleeps
 * in one `ppoll` over its connections until a reply comes, a held-up write
 * can go on, or the next send is near; spins the last stretch (still
 * reading); writes; and lets the event loop in every
 * {@linkcode YIELD_EVERY_MS} (stop, flush timers, the time-limit watchdog).
 * No promise per message. A write the socket cannot take whole waits for
 * `POLLOUT`, and its connection sends nothing more until it is out (as the
 * promise version's `writeAll` held its loop).
 *
 * @module
 */
import { libc, LINUX } from "../engine/libc.ts";
import type { FfiStream } from "../engine/ffi_stream.ts";
import { setTimespec, untilMoment } from "../engine/ffi_pacing.ts";
import { YIELD_EVERY_MS, yieldIfDue } from "../engine/thread_turns.ts";

/** Longest wait while no connection may send (replies owed, writes held up), ms. */
const IDLE_WAIT_MS = 5;

/** What the loop asks of the Worker that owns the connections. */
export interface TcpScheduleHooks {
  /**
   * The connection whose next message comes due soonest among those that
   * may send (open, with messages left and room in its window, `busy`
   * false), and its moment (a `performance.now()` time); undefined when
   * none may.
   */
  nextDue(busy: (index: number) => boolean): { index: number; duePerf: number } | undefined;
  /**
   * At the moment: the bytes of everything now due on connection `index`,
   * filled and counted as sent; undefined when the run is past its send
   * cutoff (the connection stops sending).
   */
  takeDue(index: number, nowPerf: number): Uint8Array | undefined;
  /** Bytes read from connection `index` at `readPerf`; null at the end of its stream. Throws what fails it. */
  onBytes(index: number, bytes: Uint8Array | null, readPerf: number): void;
  /** A read or write on connection `index` threw. */
  onError(index: number, error: unknown): void;
  /** Whether connection `index` is still open. */
  isOpen(index: number): boolean;
  /** Whether no connection has anything left to send. */
  sendingOver(): boolean;
  stopping(): boolean;
}

/** Keeps the schedule, then waits until every connection has closed; returns then or when stopped. */
export async function keepTcpScheduleFfi(
  streams: FfiStream[],
  hooks: TcpScheduleHooks,
  readBytes: number,
): Promise<void> {
  const c = libc();
  const pending: (Uint8Array | undefined)[] = streams.map(() => undefined);
  const pollFds = new Uint8Array(8 * Math.max(1, streams.length));
  const view = new DataView(pollFds.buffer);
  /** Connection index of each entry in `pollFds`. */
  const polled: number[] = [];
  const timespec = new BigInt64Array(2);
  const buffer = new Uint8Array(readBytes);

  /** Entries in `pollFds`, as `ppoll` wants it. */
  let count = 0n;
  /** Puts the open connections in `pollFds` (with POLLOUT while a write is held up). */
  const build = () => {
    polled.length = 0;
    for (let i = 0; i < streams.length; i++) {
      if (!hooks.isOpen(i)) continue;
      const k = polled.length;
      view.setInt32(k * 8, streams[i].descriptor, true);
      view.setInt16(k * 8 + 4, LINUX.POLLIN | (pending[i] ? LINUX.POLLOUT : 0), true);
      view.setInt16(k * 8 + 6, 0, true);
      polled.push(i);
    }
    count = BigInt(polled.length);
  };
  /** Writes what connection `i` can take of its held-up bytes. */
  const writeOn = (i: number) => {
    const bytes = pending[i]!;
    const n = streams[i].tryWrite(bytes);
    pending[i] = n < bytes.length ? bytes.subarray(n) : undefined;
  };
  /** Reads everything waiting on connection `i`. */
  const readOn = (i: number) => {
    for (let first = true; hooks.isOpen(i); first = false) {
      const n = streams[i].tryRead(buffer, first);
      if (n === undefined) return;
      hooks.onBytes(i, n === null ? null : buffer.subarray(0, n), performance.now());
      if (n === null) return;
    }
  };
  /** Serves the connections `poll` marked. */
  const serveMarked = () => {
    for (let k = 0; k < polled.length; k++) {
      const revents = view.getInt16(k * 8 + 6, true);
      const i = polled[k];
      if (revents === 0 || !hooks.isOpen(i)) continue;
      try {
        if (pending[i] && revents & LINUX.POLLOUT) writeOn(i);
        if (revents & ~LINUX.POLLOUT) readOn(i);
      } catch (error) {
        pending[i] = undefined;
        hooks.onError(i, error);
      }
    }
  };
  /** Sleeps up to `ms` or until a connection is ready, serving what is. */
  const sleepServing = (ms: number) => {
    build();
    setTimespec(timespec, ms);
    if (c.ppoll(pollFds, count, timespec, null) > 0) {
      serveMarked();
      build();
    }
  };
  const busy = (i: number) => pending[i] !== undefined;

  while (!hooks.stopping()) {
    // A schedule with no room before its sends (very high rates) still gets its turns.
    const overdue = yieldIfDue(undefined, 2 * YIELD_EVERY_MS);
    if (overdue) {
      await overdue;
      continue;
    }
    const due = hooks.nextDue(busy);
    if (!due) {
      if (hooks.sendingOver() && !pending.some(Boolean)) break;
      // Replies owed or writes held up: wait for them.
      const turn = yieldIfDue();
      if (turn) await turn;
      else sleepServing(IDLE_WAIT_MS);
      continue;
    }
    // The poll set is rebuilt when serving may have changed it, not on every turn of the spin.
    build();
    const nowPerf = await untilMoment(due.duePerf, {
      sleep: sleepServing,
      pollNow: () => {
        if (c.poll(pollFds, count, 0) > 0) {
          serveMarked();
          build();
        }
      },
      stopping: hooks.stopping,
    });
    if (nowPerf === undefined) break;
    if (!hooks.isOpen(due.index)) continue;
    const bytes = hooks.takeDue(due.index, nowPerf);
    if (!bytes) continue;
    pending[due.index] = bytes;
    try {
      writeOn(due.index);
    } catch (error) {
      pending[due.index] = undefined;
      hooks.onError(due.index, error);
    }
  }
  // Sending is over: each connection closes once its last reply is in (or its time limit fails it).
  while (!hooks.stopping() && streams.some((_, i) => hooks.isOpen(i))) {
    const turn = yieldIfDue();
    if (turn) await turn;
    else sleepServing(IDLE_WAIT_MS);
  }
}
