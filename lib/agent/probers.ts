/**
 * The three probes, against a peer's echo services: `tcp` (one echo on a
 * connection kept open, reconnecting when it breaks), `connect` (a fresh
 * connection's set-up time, then one echo to prove the service answers)
 * and `udp` (numbered echo datagrams on one shared socket: loss,
 * duplicates, reordering). Every probe is bounded by the time limit, so a
 * peer that vanishes costs its own probes a timeout and nothing else.
 *
 * @module
 */
import { classifyError, connectTcp, MismatchError, readExactly, writeAll } from "../net_io.ts";
import type { ErrorKind } from "../worker_protocol.ts";
import type { Peer } from "./peers.ts";
import type { OutcomeSink } from "./outcome.ts";
import { UdpSequence } from "./udp_sequence.ts";

/** Bytes of a probe message: magic, agent nonce, peer id, sequence number. */
export const PROBE_MESSAGE_BYTES = 16;

/** "NSAG": marks our datagrams, so strays are ignored. */
const MAGIC = 0x4e534147;

/** Builds a probe message. */
export function probeMessage(nonce: number, peerId: number, seq: number): Uint8Array {
  const bytes = new Uint8Array(PROBE_MESSAGE_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, nonce >>> 0);
  view.setUint32(8, peerId >>> 0);
  view.setUint32(12, seq >>> 0);
  return bytes;
}

/** Reads a probe message back; null when it is not one of ours. */
export function readProbeMessage(
  bytes: Uint8Array,
): { nonce: number; peerId: number; seq: number } | null {
  if (bytes.length !== PROBE_MESSAGE_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== MAGIC) return null;
  return { nonce: view.getUint32(4), peerId: view.getUint32(8), seq: view.getUint32(12) };
}

/** Runs `task` with a limit: on expiry `onTimeout` runs (closing the socket) and the failure is a timeout. */
async function withLimit<T>(
  timeoutMs: number,
  onTimeout: () => void,
  task: () => Promise<T>,
): Promise<{ value: T } | { kind: ErrorKind }> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    onTimeout();
  }, timeoutMs);
  try {
    return { value: await task() };
  } catch (error) {
    return { kind: timedOut ? "timeout" : classifyError(error) };
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(resource: { close(): void } | undefined): void {
  try {
    resource?.close();
  } catch { /* already closed */ }
}

/** One echo of `message` on `conn`; throws on a mismatch. */
async function echoOnce(conn: Deno.Conn, message: Uint8Array, buffer: Uint8Array): Promise<void> {
  await writeAll(conn, message);
  await readExactly(conn, buffer);
  for (let i = 0; i < message.length; i++) {
    if (buffer[i] !== message[i]) throw new MismatchError("echo did not match what was sent");
  }
}

/** A probe that runs once per tick of its schedule. */
export interface Prober {
  /** Runs one probe; never throws (failures are outcomes). */
  probe(): Promise<void>;
  close(): void;
}

/** `tcp`: one echo per probe on a connection kept open; a broken one is reopened by the next probe. */
export class TcpProber implements Prober {
  #conn?: Deno.TcpConn;
  #seq = 0;
  #buffer = new Uint8Array(PROBE_MESSAGE_BYTES);
  #closed = false;

  constructor(
    readonly peer: Peer,
    readonly nonce: number,
    readonly timeoutMs: number,
    readonly sink: OutcomeSink,
  ) {}

  async probe(): Promise<void> {
    const { peer, sink } = this;
    if (!this.#conn) {
      // Reconnecting is not part of the round trip: only its failure is reported.
      try {
        this.#conn = await connectTcp(peer.host, peer.port, this.timeoutMs);
      } catch (error) {
        if (!this.#closed) {
          sink.record({ target: peer.name, probe: "tcp", failure: classifyError(error) });
        }
        return;
      }
      if (this.#closed) return this.close();
    }
    const conn = this.#conn;
    const message = probeMessage(this.nonce, 0, this.#seq++);
    const startMs = performance.now();
    const result = await withLimit(
      this.timeoutMs,
      () => closeQuietly(conn),
      () => echoOnce(conn, message, this.#buffer),
    );
    const endMs = performance.now();
    if (this.#closed) return;
    if ("kind" in result) {
      // A late echo would be read as the next probe's: start afresh.
      closeQuietly(conn);
      this.#conn = undefined;
      sink.record({ target: peer.name, probe: "tcp", failure: result.kind });
      return;
    }
    sink.record({ target: peer.name, probe: "tcp", rttUs: (endMs - startMs) * 1000 });
  }

  close(): void {
    this.#closed = true;
    closeQuietly(this.#conn);
    this.#conn = undefined;
  }
}

/** `connect`: a fresh connection's set-up time, then one echo on it. */
export class ConnectProber implements Prober {
  #seq = 0;
  #buffer = new Uint8Array(PROBE_MESSAGE_BYTES);
  #closed = false;
  #conn?: Deno.TcpConn;

  constructor(
    readonly peer: Peer,
    readonly nonce: number,
    readonly timeoutMs: number,
    readonly sink: OutcomeSink,
  ) {}

  async probe(): Promise<void> {
    const { peer, sink } = this;
    const startMs = performance.now();
    let setUpMs: number;
    try {
      this.#conn = await connectTcp(peer.host, peer.port, this.timeoutMs);
      setUpMs = performance.now() - startMs;
    } catch (error) {
      if (!this.#closed) {
        sink.record({ target: peer.name, probe: "connect", failure: classifyError(error) });
      }
      return;
    }
    const conn = this.#conn;
    const left = Math.max(1, this.timeoutMs - setUpMs);
    const message = probeMessage(this.nonce, 0, this.#seq++);
    const result = await withLimit(
      left,
      () => closeQuietly(conn),
      () => echoOnce(conn, message, this.#buffer),
    );
    closeQuietly(conn);
    this.#conn = undefined;
    if (this.#closed) return;
    sink.record(
      "kind" in result
        ? { target: peer.name, probe: "connect", failure: result.kind }
        : { target: peer.name, probe: "connect", rttUs: setUpMs * 1000 },
    );
  }

  close(): void {
    this.#closed = true;
    closeQuietly(this.#conn);
  }
}

interface UdpPeerState {
  peer: Peer;
  sequence: UdpSequence;
  removed: boolean;
  sendFailures: number;
}

/**
 * Every peer's UDP probes on one socket per address family: echoes are
 * matched to their peer and sequence number by the message itself, and
 * datagrams not echoed within the limit are declared lost by a sweep.
 */
export class UdpProbers {
  #sockets = new Map<"4" | "6", Deno.DatagramConn>();
  #peers = new Map<number, UdpPeerState>();
  #nextId = 1;
  #sweeper: ReturnType<typeof setInterval>;
  #loops: Promise<void>[] = [];
  #closed = false;

  constructor(
    readonly nonce: number,
    readonly timeoutMs: number,
    readonly sink: OutcomeSink,
  ) {
    this.#sweeper = setInterval(
      () => this.#expire(performance.now()),
      Math.max(50, Math.min(500, timeoutMs / 4)),
    );
  }

  /** A prober for `peer`, sharing the socket. */
  add(peer: Peer): Prober {
    const id = this.#nextId++;
    const state: UdpPeerState = {
      peer,
      sequence: new UdpSequence(),
      removed: false,
      sendFailures: 0,
    };
    this.#peers.set(id, state);
    return {
      probe: () => this.#send(id, state),
      // Datagrams already sent are still awaited; the sweep forgets the
      // peer once they are all settled.
      close: () => (state.removed = true),
    };
  }

  #socket(host: string): Deno.DatagramConn {
    const family = host.includes(":") ? "6" : "4";
    let socket = this.#sockets.get(family);
    if (!socket) {
      socket = Deno.listenDatagram({
        hostname: family === "6" ? "::" : "0.0.0.0",
        port: 0,
        transport: "udp",
      });
      this.#sockets.set(family, socket);
      this.#loops.push(this.#receive(socket));
    }
    return socket;
  }

  async #send(id: number, state: UdpPeerState): Promise<void> {
    if (this.#closed || state.removed) return;
    const seq = state.sequence.send(performance.now());
    try {
      const socket = this.#socket(state.peer.host);
      await socket.send(probeMessage(this.nonce, id, seq), {
        transport: "udp",
        hostname: state.peer.host,
        port: state.peer.port,
      });
    } catch {
      // The datagram never left; the sweep counts it lost like any other.
      state.sendFailures++;
    }
  }

  async #receive(socket: Deno.DatagramConn): Promise<void> {
    const buffer = new Uint8Array(2048);
    while (!this.#closed) {
      let data: Uint8Array;
      try {
        [data] = await socket.receive(buffer);
      } catch {
        if (this.#closed) return;
        // ICMP port unreachable from a vanished peer surfaces here on Linux.
        continue;
      }
      const nowMs = performance.now();
      const message = readProbeMessage(data);
      if (!message || message.nonce !== this.nonce) continue;
      const state = this.#peers.get(message.peerId);
      if (!state) continue;
      const reorderedBefore = state.sequence.counts.reordered;
      const { verdict, rttMs } = state.sequence.onEcho(message.seq, nowMs);
      const target = state.peer.name;
      if (verdict === "echo") {
        this.sink.record({ target, probe: "udp", rttUs: rttMs! * 1000 });
        if (state.sequence.counts.reordered > reorderedBefore) {
          this.sink.recordUdpEvent(target, "reordered");
        }
      } else if (verdict === "duplicate" || verdict === "late") {
        this.sink.recordUdpEvent(target, verdict);
      }
    }
  }

  #expire(nowMs: number): void {
    for (const [id, state] of this.#peers) {
      const lost = state.sequence.expire(nowMs, this.timeoutMs);
      for (let i = 0; i < lost; i++) {
        this.sink.record({ target: state.peer.name, probe: "udp", failure: "lost" });
      }
      if (state.removed && state.sequence.pending === 0) this.#peers.delete(id);
    }
  }

  /** Stops: datagrams still awaited are neither echo nor loss and are not counted. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const socket of this.#sockets.values()) closeQuietly(socket);
    await Promise.allSettled(this.#loops);
  }
}
