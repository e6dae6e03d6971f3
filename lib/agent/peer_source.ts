/**
 * Where the peer list comes from, kept up to date while the agent runs:
 * a file re-read when its content changes (an operator or a Kubernetes
 * ConfigMap writes it), or every address of a DNS name (a headless
 * Service) re-resolved periodically. A list that turns bad keeps the last
 * good one and says so once.
 *
 * @module
 */
import dns from "node:dns/promises";
import { RunError } from "../errors.ts";
import { parsePeerList, type Peer, PeerListError, peersFromAddresses } from "./peers.ts";

/** How often the peer file is read again. Reading beats file-system events here: a ConfigMap update swaps a symlink two levels up, which watchers report unreliably. */
export const PEER_FILE_POLL_MS = 1000;

/** How often a DNS name is resolved again. */
export const PEER_DNS_EVERY_MS = 30_000;

/** A running source of peer lists; stop it with `close`. */
export interface PeerSource {
  close(): void;
}

/** Reads and parses the peer file; an unreadable or malformed one is a {@linkcode RunError}. */
export async function readPeerFile(path: string): Promise<{ text: string; peers: Peer[] }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new RunError(`Cannot read peer list "${path}": ${(error as Error).message}`);
  }
  try {
    return { text, peers: parsePeerList(text, path) };
  } catch (error) {
    if (error instanceof PeerListError) throw new RunError(error.message);
    throw error;
  }
}

/**
 * Re-reads `path` every `pollMs` and calls `onPeers` when its content
 * changed and parses; `onProblem` gets one line per new problem (the last
 * good list stays in force).
 */
export function watchPeerFile(
  path: string,
  initialText: string,
  onPeers: (peers: Peer[]) => void,
  onProblem: (line: string) => void,
  pollMs = PEER_FILE_POLL_MS,
): PeerSource {
  let lastText = initialText;
  let lastProblem = "";
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (error) {
        const line = `Cannot read peer list "${path}": ${
          (error as Error).message
        }; keeping the last good list`;
        if (line !== lastProblem) onProblem(line);
        lastProblem = line;
        return;
      }
      if (text === lastText) return;
      lastText = text;
      try {
        const peers = parsePeerList(text, path);
        lastProblem = "";
        onPeers(peers);
      } catch (error) {
        const line = `${(error as Error).message}; keeping the last good list`;
        if (line !== lastProblem) onProblem(line);
        lastProblem = line;
      }
    } finally {
      busy = false;
    }
  }, pollMs);
  return { close: () => clearInterval(timer) };
}

/** Every address `name` resolves to (A and AAAA, through the system resolver, so /etc/hosts counts). */
export async function resolvePeers(name: string, port: number): Promise<Peer[]> {
  const found = await dns.lookup(name, { all: true, verbatim: true });
  return peersFromAddresses(found.map((entry) => entry.address), port);
}

/**
 * Resolves `name` now and every `everyMs`; calls `onPeers` when the set of
 * addresses changes. A failed lookup keeps the last list and says so once;
 * at start it is not fatal, since a headless Service has no addresses
 * until its first pod is ready.
 */
export function watchPeerDns(
  name: string,
  port: number,
  onPeers: (peers: Peer[]) => void,
  onProblem: (line: string) => void,
  everyMs = PEER_DNS_EVERY_MS,
): PeerSource {
  let lastKey = "";
  let lastProblem = "";
  let closed = false;
  const resolve = async () => {
    try {
      const peers = await resolvePeers(name, port);
      lastProblem = "";
      const key = peers.map((peer) => peer.host).join(",");
      if (key !== lastKey && !closed) {
        lastKey = key;
        onPeers(peers);
      }
    } catch (error) {
      const line = `Cannot resolve peers "${name}": ${
        (error as Error).message
      }; keeping the last good list`;
      if (line !== lastProblem) onProblem(line);
      lastProblem = line;
    }
  };
  resolve();
  const timer = setInterval(resolve, everyMs);
  return {
    close: () => {
      closed = true;
      clearInterval(timer);
    },
  };
}
