/**
 * The UDP open loop's schedule with the FFI engine, kept in one synchronous
 * loop: the thread sleeps in one `ppoll` over its sockets until a reply
 * comes or the next send is near, reads replies the moment they arrive,
 * spins the last stretch before a send (still reading), sends, and lets the
 * event loop in every {@linkcode YIELD_EVERY_MS} ("stop", flush timers, the
 * loss sweep). No promise is made per message: through the reactor's
 * promises the same schedule cost 0.109–0.115 cores at 1,000 messages/s,
 * where this loop's prototype cost 0.073 and a C program the same method
 * 0.058–0.065 (`deno task perf:pacer`). How it sleeps and spins:
 * `lib/engine/ffi_pacing.ts`.
 *
 * @module
 */
import { libc, LINUX } from "../engine/libc.ts";
import type { PolledDatagramSocket } from "../engine/datagram.ts";
import { setTimespec, untilMoment } from "../engine/ffi_pacing.ts";
import { YIELD_EVERY_MS, yieldIfDue } from "../engine/thread_turns.ts";

/** How often the wait for the last echoes looks at the time limits, ms. */
const END_POLL_MS = 1;

/** What the loop asks of the Worker that owns the sockets. */
export interface ScheduleHooks {
  /**
   * The socket whose send comes next and its moment (a `performance.now()`
   * time), its datagram filled; undefined when every socket is done.
   */
  nextDue(): { index: number; duePerf: number } | undefined;
  /** Sends socket `index`'s prepared datagram; false when the run is past its send cutoff. */
  sendDue(index: number, nowPerf: number): boolean;
  /** A datagram read from socket `index` (`stampPerf`: the kernel's arrival time, if asked). */
  onDatagram(index: number, data: Uint8Array, readPerf: number, stampPerf?: number): void;
  /** Whether every datagram sent is settled (echoed or lost), settling what is due. */
  allSettled(): boolean;
  stopping(): boolean;
}

/** Keeps the schedule, then waits for the last echoes; returns when done or stopped. */
export async function keepScheduleFfi(
  sockets: PolledDatagramSocket[],
  hooks: ScheduleHooks,
  sizeBytes: number,
): Promise<void> {
  const c = libc();
  const pollFds = new Uint8Array(8 * sockets.length);
  const view = new DataView(pollFds.buffer);
  sockets.forEach((socket, i) => {
    view.setInt32(i * 8, socket.descriptor, true);
    view.setInt16(i * 8 + 4, LINUX.POLLIN, true);
  });
  const count = BigInt(sockets.length);
  const timespec = new BigInt64Array(2);
  const buffer = new Uint8Array(sizeBytes + 1);

  /** Reads every datagram waiting on the sockets `poll` marked. */
  const readMarked = () => {
    for (let i = 0; i < sockets.length; i++) {
      if (view.getInt16(i * 8 + 6, true) === 0) continue;
      const socket = sockets[i];
      let read = false;
      for (let data = socket.tryReceive(buffer); data; data = socket.tryReceive(buffer)) {
        read = true;
        hooks.onDatagram(i, data, performance.now(), socket.arrivalPerf);
      }
      // Readable with nothing to read: an ICMP error, which would wake every poll until cleared.
      if (!read) socket.clearError();
    }
  };
  /** Sleeps up to `ms` or until a socket is readable, reading what came. */
  const sleepReading = (ms: number) => {
    setTimespec(timespec, ms);
    if (c.ppoll(pollFds, count, timespec, null) > 0) readMarked();
  };

  for (let due = hooks.nextDue(); due && !hooks.stopping(); due = hooks.nextDue()) {
    // A schedule with no room before its sends (very high rates) still gets its turns.
    const overdue = yieldIfDue(undefined, 2 * YIELD_EVERY_MS);
    if (overdue) await overdue;
    if (hooks.stopping()) return;
    const nowPerf = await untilMoment(due.duePerf, {
      sleep: sleepReading,
      pollNow: () => {
        if (c.poll(pollFds, count, 0) > 0) readMarked();
      },
      stopping: hooks.stopping,
    });
    if (nowPerf === undefined) return;
    if (!hooks.sendDue(due.index, nowPerf)) break;
  }
  while (!hooks.stopping() && !hooks.allSettled()) {
    const turn = yieldIfDue();
    if (turn) await turn;
    else sleepReading(END_POLL_MS);
  }
}
