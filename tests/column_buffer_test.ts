import assert from "node:assert/strict";
import { batchSender } from "../lib/column_buffer.ts";
import { SampleBuffer } from "../lib/latency/sample_buffer.ts";
import type { SampleBatch } from "../lib/worker_protocol.ts";

Deno.test("batchSender() sends an empty batch at once, then only batches with rows", () => {
  const buffer = new SampleBuffer(3, 8);
  const sent: { batch: SampleBatch; transfer: ArrayBuffer[] }[] = [];
  const flush = batchSender(buffer, (batch, transfer) => sent.push({ batch, transfer }));
  assert.equal(sent.length, 1);
  assert.equal(sent[0].batch.length, 0);
  assert.equal(sent[0].batch.workerId, 3);
  flush();
  assert.equal(sent.length, 1, "nothing to send, nothing sent");

  buffer.add(1, 7, 100, 55.5, 1024, 0);
  buffer.add(1, 8, 160, 56.5, 1024, 0);
  flush();
  assert.equal(sent.length, 2);
  const { batch, transfer } = sent[1];
  assert.equal(batch.length, 2);
  assert.deepEqual([...batch.seq.subarray(0, 2)], [7, 8]);
  assert.deepEqual([...batch.rttUs.subarray(0, 2)], [55.5, 56.5]);
  // Every column goes over as a transfer, so the Worker keeps no copy.
  assert.equal(transfer.length, 6);
  assert.ok(transfer.includes(batch.rttUs.buffer as ArrayBuffer));
  assert.equal(buffer.length, 0);
});
