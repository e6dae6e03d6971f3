import assert from "node:assert/strict";
import { UsageError } from "../lib/errors.ts";
import { parseCommandLine } from "../lib/cli/program.ts";
import { type LatencyFlags, parseLatencyFlags } from "../lib/cli/latency.ts";
import { parseServeFlags, type ServeFlags } from "../lib/cli/serve.ts";
import { parseEngineFlags } from "../lib/cli/engine.ts";

const LATENCY_FLAGS: LatencyFlags = {
  workers: "1",
  connections: "1",
  size: "1024",
  warmup: "10",
  timeout: "5s",
  verify: true,
  progress: true,
};

Deno.test("parseLatencyFlags() builds typed options with units", () => {
  const options = parseLatencyFlags("[::1]:7007", {
    ...LATENCY_FLAGS,
    workers: "4",
    connections: "2",
    count: "5000",
    size: "4KiB",
    timeout: "250ms",
    verify: false,
    csv: "lat.csv",
  });
  assert.deepEqual(options.target, { host: "::1", port: 7007 });
  assert.equal(options.workers, 4);
  assert.equal(options.connections, 2);
  assert.equal(options.count, 5000);
  assert.equal(options.durationMs, undefined);
  assert.equal(options.sizeBytes, 4096);
  assert.equal(options.timeoutMs, 250);
  assert.equal(options.verify, false);
  assert.equal(options.csvPath, "lat.csv");
});

Deno.test("parseLatencyFlags() uses --duration instead of the default count", () => {
  const options = parseLatencyFlags("h:1", { ...LATENCY_FLAGS, duration: "2s" });
  assert.equal(options.durationMs, 2000);
  assert.equal(options.count, undefined);
});

Deno.test("parseLatencyFlags() refuses --count with --duration", () => {
  assert.throws(
    () => parseLatencyFlags("h:1", { ...LATENCY_FLAGS, duration: "2s", count: "5" }),
    /--count and --duration cannot be used together/,
  );
});

Deno.test("parseServeFlags() binds loopback by default and turns services off", () => {
  const flags: ServeFlags = {
    host: "127.0.0.1",
    port: "0",
    discardPort: "7009",
    chargenPort: "7019",
    echo: true,
    discard: false,
    chargen: true,
    maxConnections: "100",
    idleTimeout: "0",
    bufferSize: "16KiB",
  };
  const options = parseServeFlags(flags);
  assert.equal(options.host, "127.0.0.1");
  assert.deepEqual(options.ports, { echo: 0, discard: null, chargen: 7019 });
  assert.equal(options.maxConnections, 100);
  assert.equal(options.idleTimeoutMs, 0);
  assert.equal(options.bufferBytes, 16384);
});

/** Every bad input of the core issue: a one-line UsageError naming the problem and the help. */
const BAD_INPUT: [string[], RegExp][] = [
  [
    ["latency", "127.0.0.1:7007", "--bogus"],
    /^Unknown option "--bogus" \(see "netspeed latency --help"\)$/,
  ],
  [["latency", "127.0.0.1:7007", "--size", "0"], /^Invalid --size "0": must be at least 1 byte/],
  [["latency", "127.0.0.1:7007", "--size", "1x"], /^Invalid --size "1x"/],
  [
    ["latency", "127.0.0.1:70000"],
    /^Invalid address "127\.0\.0\.1:70000": the port must be a number from 1 to 65535/,
  ],
  [["latency", "host:"], /^Invalid address "host:": the port is missing/],
  [
    ["latency", "127.0.0.1:7007", "--duration", "-5s"],
    /^Invalid --duration "-5s": must be more than zero/,
  ],
  [["latency", "127.0.0.1:7007", "-w", "0"], /^Invalid --workers "0"/],
  [["latency"], /^Missing required argument "host:port"/],
  [["serve", "--port", "70000"], /^Invalid --port "70000"/],
  [["frobnicate"], /^Unknown command "frobnicate"/],
];

for (const [args, expected] of BAD_INPUT) {
  Deno.test(`parseCommandLine() rejects ${JSON.stringify(args.join(" "))} with one clear line`, async () => {
    const error = await parseCommandLine(args).then(
      () => assert.fail("expected a UsageError"),
      (e) => e,
    );
    assert.ok(error instanceof UsageError, String(error));
    assert.match(error.message, expected);
    assert.ok(!error.message.includes("\n"), "one line");
    assert.match(error.message, /\(see "netspeed [a-z ]*--help"\)$/);
  });
}

Deno.test("parseCommandLine() returns an invocation without running it", async () => {
  const invocation = await parseCommandLine(["latency", "127.0.0.1:7", "-n", "3"]);
  assert.equal(invocation?.command, "latency");
});

Deno.test("parseEngineFlags() picks the engine, refuses unknown ones and non-Linux FFI", () => {
  assert.equal(parseEngineFlags(undefined, false, "linux"), "deno");
  assert.equal(parseEngineFlags("ffi", false, "linux"), "ffi");
  assert.equal(parseEngineFlags(undefined, true, "linux"), "busy-poll");
  assert.equal(parseEngineFlags("ffi", true, "linux"), "busy-poll");
  assert.equal(parseEngineFlags("deno", false, "darwin"), "deno");
  assert.throws(() => parseEngineFlags("nonsense", false, "linux"), /Invalid --engine "nonsense"/);
  assert.throws(() => parseEngineFlags("deno", true, "linux"), /--busy-poll needs the FFI engine/);
  assert.throws(
    () => parseEngineFlags("ffi", false, "darwin"),
    /Option --engine "ffi" runs on Linux only, not on "darwin"/,
  );
  assert.throws(
    () => parseEngineFlags(undefined, true, "windows"),
    /--busy-poll runs on Linux only/,
  );
});
