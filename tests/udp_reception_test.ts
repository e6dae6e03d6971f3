/**
 * Loss, duplicates, reordering and jitter from sequence numbers and times,
 * on streams whose answers are known; and the UDP echo's rate limiter.
 */
import assert from "node:assert/strict";
import { TokenBucket } from "../lib/server/udp_echo.ts";
import { ReceptionTracker, summarizeUdp } from "../lib/udp/reception.ts";

Deno.test("ReceptionTracker counts a swapped pair as one reordered echo", () => {
  const t = new ReceptionTracker(6);
  for (const seq of [0, 1, 3, 2, 4, 5]) t.onEcho(seq, seq * 1000, seq * 1000 + 100);
  const c = t.counts(0, 6);
  assert.equal(c.received, 6);
  assert.equal(c.reordered, 1);
  assert.equal(c.duplicates, 0);
});

Deno.test("ReceptionTracker does not call the datagram after a gap reordered", () => {
  const t = new ReceptionTracker(10);
  for (const seq of [0, 1, 2, 4, 5, 7, 8, 9]) t.onEcho(seq, 0, 100);
  const c = t.counts(3, 10);
  assert.deepEqual([c.connection, c.sent, c.received, c.reordered], [3, 10, 8, 0]);
});

Deno.test("ReceptionTracker counts duplicates and late echoes apart from echoes in time", () => {
  const t = new ReceptionTracker(4);
  assert.equal(t.onEcho(0, 0, 100), "echo");
  assert.equal(t.onEcho(0, 0, 150), "duplicate");
  assert.equal(t.onEcho(1, 0, 5_000_000, true), "late");
  assert.equal(t.onEcho(1, 0, 5_000_100, true), "duplicate");
  assert.equal(t.onEcho(7, 0, 100), "unknown");
  assert.equal(t.echoedInTime(0), true);
  assert.equal(t.echoedInTime(1), false);
  assert.equal(t.echoedInTime(2), false);
  const c = t.counts(0, 4);
  assert.deepEqual([c.received, c.duplicates, c.late], [1, 2, 1]);
});

Deno.test("ReceptionTracker's jitter follows RFC 3550's J += (|D| - J) / 16", () => {
  // Round trips alternate 100 and 300 µs: |D| = 200 each time.
  const t = new ReceptionTracker(100);
  let expected = 0;
  for (let seq = 0; seq < 100; seq++) {
    t.onEcho(seq, seq * 1000, seq * 1000 + (seq % 2 === 0 ? 100 : 300));
    if (seq > 0) expected += (200 - expected) / 16;
  }
  const jitter = t.counts(0, 100).jitterUs;
  assert.ok(Math.abs(jitter - expected) < 1e-9, `${jitter} vs ${expected}`);
  assert.ok(jitter > 199 && jitter < 200);
  // A constant round trip, however long, has no jitter.
  const steady = new ReceptionTracker(10);
  for (let seq = 0; seq < 10; seq++) steady.onEcho(seq, seq * 50, seq * 50 + 777);
  assert.equal(steady.counts(0, 10).jitterUs, 0);
});

Deno.test("summarizeUdp() adds the sockets up and reports jitter as their mean and max", () => {
  const base = { duplicates: 0, reordered: 0, late: 0, mismatched: 0 };
  const s = summarizeUdp([
    { ...base, connection: 1, sent: 100, received: 90, reordered: 2, jitterUs: 30 },
    { ...base, connection: 0, sent: 100, received: 100, duplicates: 1, late: 3, jitterUs: 10 },
  ]);
  assert.equal(s.sent, 200);
  assert.equal(s.received, 190);
  assert.equal(s.lost, 10);
  assert.equal(s.lossRatio, 0.05);
  assert.equal(s.duplicates, 1);
  assert.equal(s.reordered, 2);
  assert.equal(s.late, 3);
  assert.equal(s.jitterUs, 20);
  assert.equal(s.jitterMaxUs, 30);
  assert.deepEqual(s.sockets.map((x) => x.connection), [0, 1]);
  assert.equal(summarizeUdp([]).lossRatio, 0);
});

Deno.test("TokenBucket allows a burst, then the rate", () => {
  const bucket = new TokenBucket(1000, 100, 0);
  let taken = 0;
  for (let i = 0; i < 500; i++) if (bucket.take(0)) taken++;
  assert.equal(taken, 100);
  // 50 ms later: 50 more tokens.
  taken = 0;
  for (let i = 0; i < 500; i++) if (bucket.take(50)) taken++;
  assert.equal(taken, 50);
  // A long pause refills only up to the burst.
  taken = 0;
  for (let i = 0; i < 500; i++) if (bucket.take(10_000)) taken++;
  assert.equal(taken, 100);
});
