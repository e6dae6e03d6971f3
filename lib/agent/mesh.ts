/**
 * The set of peers being probed: one {@linkcode ProbeLoop} per peer and
 * probe kind, started and stopped as the peer list changes. Peers are
 * independent: each has its own timers and time limits, so one that
 * vanishes slows nobody else.
 *
 * @module
 */
import { choosePeers, type Peer, peerKey, type SelfIdentity } from "./peers.ts";
import type { OutcomeSink, ProbeKind } from "./outcome.ts";
import { ConnectProber, type Prober, TcpProber, UdpProbers } from "./probers.ts";
import { ProbeLoop } from "./probe_loop.ts";
import type { ScheduleOptions } from "./schedule.ts";

/** What the mesh needs to know once. */
export interface MeshOptions {
  self: SelfIdentity;
  peersSubset?: number;
  probes: readonly ProbeKind[];
  schedule: ScheduleOptions;
  timeoutMs: number;
  /** Random per agent: marks its probe messages. */
  nonce: number;
}

/** What changed with a new peer list. */
export interface MeshChange {
  added: Peer[];
  removed: Peer[];
  /** Peers probed now. */
  peers: Peer[];
}

/** The probers of every chosen peer. */
export class Mesh {
  #loops = new Map<string, { peer: Peer; loops: ProbeLoop[] }>();
  #udp: UdpProbers;

  constructor(readonly options: MeshOptions, readonly sink: OutcomeSink) {
    this.#udp = new UdpProbers(options.nonce, options.timeoutMs, sink);
  }

  /** Applies a new full peer list (the agent itself and the unchosen are dropped here). */
  update(all: readonly Peer[]): MeshChange {
    const { self, peersSubset } = this.options;
    const chosen = choosePeers(all, self, peersSubset);
    const keys = new Set(chosen.map(peerKey));
    const removed: Peer[] = [];
    for (const [key, entry] of this.#loops) {
      if (keys.has(key)) continue;
      this.#loops.delete(key);
      removed.push(entry.peer);
      for (const loop of entry.loops) loop.stop();
    }
    const added: Peer[] = [];
    for (const peer of chosen) {
      const key = peerKey(peer);
      if (this.#loops.has(key)) continue;
      const loops = this.options.probes.map((probe) => {
        const loop = new ProbeLoop(this.#prober(peer, probe), this.options.schedule);
        loop.start();
        return loop;
      });
      this.#loops.set(key, { peer, loops });
      added.push(peer);
    }
    return { added, removed, peers: chosen };
  }

  #prober(peer: Peer, probe: ProbeKind): Prober {
    const { nonce, timeoutMs } = this.options;
    if (probe === "tcp") return new TcpProber(peer, nonce, timeoutMs, this.sink);
    if (probe === "connect") return new ConnectProber(peer, nonce, timeoutMs, this.sink);
    return this.#udp.add(peer);
  }

  /** Peers probed now. */
  get size(): number {
    return this.#loops.size;
  }

  /** Stops every probe, waiting for those in flight. */
  async close(): Promise<void> {
    const stopping = [...this.#loops.values()].flatMap((entry) => entry.loops.map((l) => l.stop()));
    this.#loops.clear();
    await Promise.allSettled(stopping);
    await this.#udp.close();
  }
}
