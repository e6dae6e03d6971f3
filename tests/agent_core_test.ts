import assert from "node:assert/strict";
import {
  choosePeers,
  isSelf,
  parsePeerList,
  type Peer,
  PeerListError,
  peersFromAddresses,
  rendezvousSubset,
} from "../lib/agent/peers.ts";
import { firstDelayMs, jitteredGapMs, nextDueMs } from "../lib/agent/schedule.ts";
import { UdpSequence } from "../lib/agent/udp_sequence.ts";
import { logBucketsSeconds } from "../lib/agent/buckets.ts";
import { AgentTally } from "../lib/agent/outcome.ts";
import { AgentMetrics } from "../lib/agent/metrics.ts";
import { probeMessage, readProbeMessage } from "../lib/agent/probers.ts";
import { parseAgentFlags } from "../lib/cli/agent.ts";
import { UsageError } from "../lib/errors.ts";

const peers = (n: number): Peer[] =>
  Array.from({ length: n }, (_, i) => ({ name: `node-${i}`, host: `10.0.0.${i}`, port: 7007 }));

Deno.test("parsePeerList() reads names and addresses, skipping comments and blank lines", () => {
  const list = parsePeerList("# fleet\n\na 127.0.0.1:7007\n  b [::1]:7008  \n", "p.txt");
  assert.deepEqual(list, [
    { name: "a", host: "127.0.0.1", port: 7007 },
    { name: "b", host: "::1", port: 7008 },
  ]);
});

Deno.test("parsePeerList() quotes the bad line with its number", () => {
  for (
    const [text, why] of [
      ["a 127.0.0.1:7007\nb\n", /line 2 "b": expected NAME HOST:PORT/],
      ["a 127.0.0.1:99999\n", /line 1 "a 127.0.0.1:99999": the port must be/],
      ["a 127.0.0.1:1\na 127.0.0.1:2\n", /line 2 .*appears twice/],
      ["a/b 127.0.0.1:1\n", /line 1 "a\/b 127.0.0.1:1": a name is/],
      ["a 127.0.0.1\n", /expected HOST:PORT/],
    ] as const
  ) {
    assert.throws(() => parsePeerList(text, "p.txt"), (e: Error) => {
      assert.ok(e instanceof PeerListError);
      assert.match(e.message, /^Invalid peer list "p\.txt" /);
      assert.match(e.message, why);
      return true;
    });
  }
});

Deno.test("isSelf() knows the agent by name or by its own address and echo port", () => {
  const self = { nodeId: "a", echoPort: 7007, addresses: new Set(["10.0.0.1", "::1"]) };
  assert.ok(isSelf({ name: "a", host: "10.9.9.9", port: 1 }, self));
  assert.ok(isSelf({ name: "10.0.0.1", host: "10.0.0.1", port: 7007 }, self));
  assert.ok(isSelf({ name: "x", host: "::1", port: 7007 }, self));
  assert.ok(!isSelf({ name: "x", host: "10.0.0.1", port: 7008 }, self));
  assert.ok(!isSelf({ name: "x", host: "10.0.0.2", port: 7007 }, self));
});

Deno.test("rendezvousSubset() keeps K peers and changes at most one pick when a peer joins or leaves", () => {
  const fleet = peers(60);
  for (const node of ["node-1", "node-7", "node-33"]) {
    const before = rendezvousSubset(fleet, node, 10).map((p) => p.name);
    assert.equal(before.length, 10);
    assert.deepEqual(rendezvousSubset(fleet, node, 10).map((p) => p.name), before, "stable");
    const grown = [...fleet, { name: "node-new", host: "10.0.1.1", port: 7007 }];
    const after = rendezvousSubset(grown, node, 10).map((p) => p.name);
    assert.ok(after.filter((n) => !before.includes(n)).length <= 1);
    const shrunk = fleet.filter((p) => p.name !== before[0]);
    const afterLeave = rendezvousSubset(shrunk, node, 10).map((p) => p.name);
    assert.equal(afterLeave.filter((n) => !before.includes(n)).length, 1);
    assert.equal(before.filter((n) => !afterLeave.includes(n)).join(), before[0]);
  }
});

Deno.test("rendezvousSubset() spreads the probing over the fleet", () => {
  const fleet = peers(50);
  const probedBy = new Map<string, number>();
  for (const agent of fleet) {
    const chosen = choosePeers(fleet, {
      nodeId: agent.name,
      echoPort: 7007,
      addresses: new Set([agent.host]),
    }, 5);
    assert.equal(chosen.length, 5);
    assert.ok(!chosen.some((p) => p.name === agent.name), "never itself");
    for (const p of chosen) probedBy.set(p.name, (probedBy.get(p.name) ?? 0) + 1);
  }
  // 250 picks over 50 peers: each is probed by someone, none by a crowd.
  assert.ok(probedBy.size >= 40, `only ${probedBy.size} peers probed`);
  assert.ok(Math.max(...probedBy.values()) <= 15);
});

Deno.test("peersFromAddresses() names each address after itself, without duplicates", () => {
  assert.deepEqual(peersFromAddresses(["10.0.0.2", "10.0.0.1", "10.0.0.2", "FE80::1"], 7007), [
    { name: "10.0.0.1", host: "10.0.0.1", port: 7007 },
    { name: "10.0.0.2", host: "10.0.0.2", port: 7007 },
    { name: "fe80::1", host: "fe80::1", port: 7007 },
  ]);
});

Deno.test("jitteredGapMs() stays within ±jitter and averages the interval", () => {
  const options = { intervalMs: 1000, jitterFraction: 0.2 };
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const gaps = Array.from({ length: 10_000 }, () => jitteredGapMs(options, random));
  assert.ok(Math.min(...gaps) >= 800 && Math.max(...gaps) <= 1200);
  const mean = gaps.reduce((a, b) => a + b) / gaps.length;
  assert.ok(Math.abs(mean - 1000) < 10, `mean ${mean}`);
  assert.ok(new Set(gaps.map((g) => Math.round(g))).size > 300, "gaps vary");
  const first = firstDelayMs(options, () => 0.999);
  assert.ok(first >= 0 && first < 1000);
});

Deno.test("nextDueMs() adds gaps to the due time and never schedules in the past", () => {
  const options = { intervalMs: 1000, jitterFraction: 0 };
  assert.equal(nextDueMs(5000, 5100, options, Math.random), 6000, "a slow probe does not drift");
  assert.equal(nextDueMs(5000, 9000, options, Math.random), 9000, "no burst of catch-ups");
});

Deno.test("UdpSequence counts echoes, losses, late echoes, duplicates and reordering", () => {
  const s = new UdpSequence();
  const seqs = [0, 1, 2, 3, 4].map((i) => s.send(i * 100));
  assert.deepEqual(seqs, [0, 1, 2, 3, 4]);
  assert.deepEqual(s.onEcho(0, 50), { verdict: "echo", rttMs: 50 });
  assert.equal(s.onEcho(2, 260).verdict, "echo");
  assert.equal(s.onEcho(1, 270).verdict, "echo", "1 after 2 is reordered");
  assert.equal(s.onEcho(1, 280).verdict, "duplicate");
  assert.equal(s.onEcho(77, 280).verdict, "unknown");
  assert.equal(s.expire(1000, 700), 1, "3 was sent at 300: lost at 1000, 4 not yet");
  assert.equal(s.onEcho(3, 1010).verdict, "late");
  assert.equal(s.onEcho(4, 1020).verdict, "echo");
  assert.equal(s.pending, 0);
  assert.deepEqual(s.counts, {
    sent: 5,
    received: 4,
    lost: 1,
    duplicates: 1,
    reordered: 1,
    late: 1,
  });
});

Deno.test("UdpSequence keeps memory flat over an endless stream", () => {
  const s = new UdpSequence();
  for (let i = 0; i < 100_000; i++) {
    const seq = s.send(i);
    if (i % 10 !== 0) s.onEcho(seq, i + 1);
    s.expire(i, 50);
  }
  assert.ok(s.pending <= 50);
  assert.equal(s.counts.sent, 100_000);
  assert.equal(s.counts.received + s.counts.lost + s.pending, 100_000);
});

Deno.test("logBucketsSeconds() spans 10 µs to 10 s with neighbours within 20%", () => {
  const buckets = logBucketsSeconds();
  assert.equal(buckets[0], 10e-6);
  assert.equal(buckets.at(-1), 10);
  for (let i = 1; i < buckets.length; i++) {
    const ratio = buckets[i] / buckets[i - 1];
    assert.ok(ratio > 1 && ratio <= 1.2, `ratio ${ratio} at ${buckets[i]}`);
  }
});

Deno.test("AgentTally keeps probes = successes + failures for each pair", () => {
  const tally = new AgentTally();
  tally.record({ target: "b", probe: "udp", rttUs: 120 });
  tally.record({ target: "b", probe: "udp", failure: "lost" });
  tally.record({ target: "a", probe: "tcp", failure: "refused" });
  tally.recordUdpEvent("b", "duplicate");
  const [a, b] = tally.sorted();
  assert.equal(a.target, "a");
  assert.deepEqual(a.failures, { refused: 1 });
  assert.equal(b.probes, 2);
  assert.equal(b.histogram.totalCount, 1);
  assert.equal(b.udp.duplicate, 1);
});

Deno.test("probeMessage() round-trips and readProbeMessage() rejects strays", () => {
  assert.deepEqual(readProbeMessage(probeMessage(7, 3, 2 ** 32 - 1)), {
    nonce: 7,
    peerId: 3,
    seq: 2 ** 32 - 1,
  });
  assert.equal(readProbeMessage(new Uint8Array(16)), null);
  assert.equal(readProbeMessage(new Uint8Array(3)), null);
});

const FLAGS = {
  host: "127.0.0.1",
  port: "7007",
  probes: "tcp,connect,udp",
  interval: "1s",
  timeout: "2s",
  metricsListen: "127.0.0.1:9108",
  maxConnections: "1000",
  udpRateLimit: "20000/s",
  hlogInterval: "10s",
  hlogMaxBytes: "100MiB",
  nodeId: "a",
};

Deno.test("parseAgentFlags() rejects bad values with the value quoted", () => {
  const bad: [Record<string, string | undefined>, RegExp][] = [
    [{ peers: "p.txt", interval: "0" }, /Invalid --interval "0": must be more than zero/],
    [{}, /--peers FILE or --peers-dns NAME:PORT is required/],
    [{ peers: "p", peersDns: "x:1" }, /cannot be used together/],
    [{ peersDns: "svc" }, /Invalid --peers-dns "svc": expected NAME:PORT/],
    [{ peers: "p", probes: "tcp,icmp" }, /"icmp" is not one of tcp, connect, udp/],
    [{ peers: "p", peersSubset: "0" }, /Invalid --peers-subset "0"/],
    [{ peers: "p", metricsListen: "nowhere" }, /Invalid address "nowhere"/],
    [{ peers: "p", nodeId: "a b" }, /Invalid --node-id "a b"/],
    [
      { peers: "p", hlogMaxBytes: "1KiB" },
      /Invalid --hlog-max-bytes "1KiB": must be at least 16384/,
    ],
  ];
  for (const [extra, message] of bad) {
    assert.throws(
      () => parseAgentFlags({ ...FLAGS, ...extra } as never),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      JSON.stringify(extra),
    );
  }
  const ok = parseAgentFlags({ ...FLAGS, peersDns: "agents.default.svc:7007" });
  assert.deepEqual(ok.peers, { kind: "dns", name: "agents.default.svc", port: 7007 });
});

Deno.test("AgentMetrics counts by pair and forgets a removed peer's series after a grace period", async () => {
  const metrics = new AgentMetrics("a");
  metrics.addPeer("b", ["tcp", "udp"]);
  metrics.addPeer("c", ["tcp", "udp"]);
  metrics.record({ target: "b", probe: "tcp", rttUs: 250 });
  metrics.record({ target: "b", probe: "udp", failure: "lost" });
  metrics.record({ target: "c", probe: "tcp", failure: "refused" });
  const text = await metrics.exposition();
  assert.match(text, /^netspeed_probes_total\{source="a",target="b",probe="tcp"\} 1$/m);
  assert.match(text, /^netspeed_udp_lost_total\{source="a",target="b"\} 1$/m);
  assert.match(
    text,
    /^netspeed_probe_failures_total\{source="a",target="c",probe="tcp",kind="refused"\} 1$/m,
  );
  assert.match(
    text,
    /^netspeed_probe_rtt_seconds_bucket\{le="0\.0002894",source="a",target="b",probe="tcp"\} 1$/m,
  );
  metrics.forgetPeer("c", ["tcp", "udp"], 20);
  metrics.forgetPeer("b", ["tcp", "udp"], 20);
  metrics.addPeer("b", ["tcp", "udp"]); // b came back: its series stay
  await new Promise((resolve) => setTimeout(resolve, 60));
  const after = await metrics.exposition();
  assert.ok(!after.includes('target="c"'), after);
  assert.match(after, /^netspeed_probes_total\{source="a",target="b",probe="tcp"\} 1$/m);
});
