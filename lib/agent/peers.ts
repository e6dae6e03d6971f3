/**
 * The agent's peers: the Pingmesh-style peer list (`name host:port` per
 * line), who counts as the agent itself, and which K peers an agent picks
 * by rendezvous hashing. Pure, so every rule is tested with plain data.
 *
 * @module
 */
import { parseHostPort } from "../units.ts";

/** One peer to probe: its echo services (TCP and UDP) listen on `host:port`. */
export interface Peer {
  /** The name in the peer list, or the address when found through DNS; the `target` label. */
  name: string;
  host: string;
  port: number;
}

/** A peer list that cannot be used: the message quotes the offending line. */
export class PeerListError extends Error {
  override name = "PeerListError";
}

/** Names become Prometheus label values and hlog file names: keep them plain. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Parses a peer list: one `name host:port` per line; blank lines and lines
 * starting with `#` are skipped. Throws {@linkcode PeerListError} naming
 * `source`, the line number and the line itself.
 *
 * @example
 * ```ts
 * parsePeerList("a 10.0.0.1:7007\n# comment\nb [fd00::2]:7007\n", "peers.txt");
 * ```
 */
export function parsePeerList(text: string, source: string): Peer[] {
  const peers: Peer[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fail = (why: string): never => {
      throw new PeerListError(`Invalid peer list "${source}" line ${index + 1} "${line}": ${why}`);
    };
    const fields = line.split(/\s+/);
    if (fields.length !== 2) fail("expected NAME HOST:PORT");
    const [name, address] = fields;
    if (!NAME_PATTERN.test(name)) {
      fail("a name is letters, digits, dots, colons, dashes, underscores");
    }
    if (seen.has(name)) fail(`the name "${name}" appears twice`);
    let hostPort;
    try {
      hostPort = parseHostPort(address);
    } catch (error) {
      return fail((error as Error).message.replace(/^Invalid address "[^"]*": /, ""));
    }
    seen.add(name);
    peers.push({ name, host: hostPort.host, port: hostPort.port });
  });
  return peers;
}

/** What makes a peer the agent itself. */
export interface SelfIdentity {
  /** The agent's `--node-id`. */
  nodeId: string;
  /** Port of the agent's own echo services. */
  echoPort: number;
  /** Addresses of this host (its interfaces and the bind address). */
  addresses: ReadonlySet<string>;
}

/** Whether `peer` is the agent itself: same name, or one of its addresses on its echo port. */
export function isSelf(peer: Peer, self: SelfIdentity): boolean {
  if (peer.name === self.nodeId) return true;
  return peer.port === self.echoPort && self.addresses.has(normalizeHost(peer.host));
}

/** Lower-cases and drops an IPv6 zone, so addresses compare as equal strings. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/%.*$/, "");
}

/**
 * cyrb53: a fast 53-bit string hash with good avalanche. Only its spread
 * matters here; it is not a cryptographic hash.
 */
export function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * Rendezvous (highest random weight) hashing: the agent keeps the `k` peers
 * whose hash with its own id is highest. A peer joining or leaving changes
 * at most one pick of each agent, so subsets stay stable as the fleet
 * changes, and no coordination is needed.
 */
export function rendezvousSubset(peers: readonly Peer[], nodeId: string, k: number): Peer[] {
  if (peers.length <= k) return [...peers];
  return peers
    .map((peer) => ({ peer, weight: hash53(`${nodeId}\u0000${peer.name}`) }))
    .sort((a, b) => b.weight - a.weight || (a.peer.name < b.peer.name ? -1 : 1))
    .slice(0, k)
    .map((w) => w.peer);
}

/**
 * The peers an agent probes: the list without itself, then the rendezvous
 * subset of size `subsetK` when given; sorted by name for stable output.
 */
export function choosePeers(
  peers: readonly Peer[],
  self: SelfIdentity,
  subsetK?: number,
): Peer[] {
  const others = peers.filter((peer) => !isSelf(peer, self));
  const chosen = subsetK === undefined ? others : rendezvousSubset(others, self.nodeId, subsetK);
  return chosen.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A stable key for a peer: same key, same probers (a changed address makes a new peer). */
export function peerKey(peer: Peer): string {
  return `${peer.name} ${peer.host} ${peer.port}`;
}

/** Peers found through DNS: each address is a peer named after its address. */
export function peersFromAddresses(addresses: readonly string[], port: number): Peer[] {
  const unique = [...new Set(addresses.map(normalizeHost))].sort();
  return unique.map((host) => ({ name: host, host, port }));
}
