import assert from "node:assert/strict";
import { UsageError } from "../lib/errors.ts";
import {
  formatHostPort,
  parseDurationMs,
  parseHostPort,
  parseInteger,
  parsePort,
  parseRatePerSec,
  parseSizeBytes,
} from "../lib/units.ts";

Deno.test("parseSizeBytes() accepts plain bytes, decimal and binary prefixes", () => {
  assert.equal(parseSizeBytes("1024", "--size"), 1024);
  assert.equal(parseSizeBytes("1k", "--size"), 1000);
  assert.equal(parseSizeBytes("64KiB", "--size"), 65536);
  assert.equal(parseSizeBytes("1.5MiB", "--size"), 1572864);
  assert.equal(parseSizeBytes("2 MB", "--size"), 2_000_000);
  assert.equal(parseSizeBytes("1GiB", "--size"), 1024 ** 3);
});

Deno.test("parseSizeBytes() rejects zero, junk and unknown units with the value quoted", () => {
  assert.throws(() => parseSizeBytes("0", "--size"), {
    name: "UsageError",
    message: 'Invalid --size "0": must be at least 1 byte',
  });
  assert.throws(() => parseSizeBytes("1x", "--size"), /Invalid --size "1x": expected a size/);
  assert.throws(() => parseSizeBytes("-5", "--size"), UsageError);
  assert.throws(() => parseSizeBytes("", "--size"), UsageError);
});

Deno.test("parseDurationMs() reads s, ms, us, m, h and bare seconds", () => {
  assert.equal(parseDurationMs("10s", "--duration"), 10_000);
  assert.equal(parseDurationMs("500ms", "--duration"), 500);
  assert.equal(parseDurationMs("250us", "--duration"), 0.25);
  assert.equal(parseDurationMs("2m", "--duration"), 120_000);
  assert.equal(parseDurationMs("1h", "--duration"), 3_600_000);
  assert.equal(parseDurationMs("1.5", "--duration"), 1500);
  assert.equal(parseDurationMs("0", "--omit", { allowZero: true }), 0);
});

Deno.test("parseDurationMs() rejects negative, zero and unknown units", () => {
  assert.throws(() => parseDurationMs("-1s", "--duration"), {
    message: 'Invalid --duration "-1s": must be more than zero',
  });
  assert.throws(() => parseDurationMs("0s", "--duration"), /must be more than zero/);
  assert.throws(() => parseDurationMs("10 parsecs", "--duration"), /expected a duration/);
});

Deno.test("parseInteger() refuses what parseInt would quietly accept", () => {
  assert.equal(parseInteger("42", "--count"), 42);
  assert.throws(
    () => parseInteger("1x", "--count"),
    /Invalid --count "1x": expected a whole number/,
  );
  assert.throws(() => parseInteger("2.5", "--count"), /expected a whole number/);
  assert.throws(() => parseInteger("0", "--count"), /must be at least 1/);
  assert.throws(() => parseInteger("300", "--workers", { min: 1, max: 256 }), /from 1 to 256/);
});

Deno.test("parsePort() accepts 1-65535, and 0 only where allowed", () => {
  assert.equal(parsePort("7007", "--port"), 7007);
  assert.equal(parsePort("0", "--port", { allowZero: true }), 0);
  assert.throws(() => parsePort("0", "--port"), UsageError);
  assert.throws(
    () => parsePort("70000", "--port"),
    /Invalid --port "70000": must be from 1 to 65535/,
  );
});

Deno.test("parseHostPort() handles names, IPv4, bracketed IPv6 and default ports", () => {
  assert.deepEqual(parseHostPort("echo.example.net:7007"), {
    host: "echo.example.net",
    port: 7007,
  });
  assert.deepEqual(parseHostPort("127.0.0.1:1"), { host: "127.0.0.1", port: 1 });
  assert.deepEqual(parseHostPort("[::1]:7007"), { host: "::1", port: 7007 });
  assert.deepEqual(parseHostPort("localhost", 7009), { host: "localhost", port: 7009 });
  assert.deepEqual(parseHostPort("[::1]", 7009), { host: "::1", port: 7009 });
});

Deno.test("parseHostPort() rejects a missing port or host and bad ports", () => {
  assert.throws(() => parseHostPort("host:"), {
    message: 'Invalid address "host:": the port is missing',
  });
  assert.throws(() => parseHostPort(":7007"), /the host is missing/);
  assert.throws(() => parseHostPort("host"), /expected HOST:PORT/);
  assert.throws(() => parseHostPort("host:70000"), /the port must be a number from 1 to 65535/);
  assert.throws(() => parseHostPort("host:7x"), /the port must be a number/);
  assert.throws(() => parseHostPort("::1:7007"), /write IPv6 addresses as \[::1\]:7007/);
});

Deno.test("formatHostPort() brackets IPv6 so the output can be pasted back", () => {
  assert.equal(formatHostPort({ host: "::1", port: 7007 }), "[::1]:7007");
  assert.equal(formatHostPort({ host: "127.0.0.1", port: 7007 }), "127.0.0.1:7007");
});

Deno.test("parseRatePerSec() reads per-second, per-minute and k-suffixed rates", () => {
  assert.equal(parseRatePerSec("20000/s", "--rate"), 20000);
  assert.equal(parseRatePerSec("20000", "--rate"), 20000);
  assert.equal(parseRatePerSec("1.5k/s", "--rate"), 1500);
  assert.equal(parseRatePerSec("600/min", "--rate"), 10);
  assert.throws(() => parseRatePerSec("fast", "--rate"), /Invalid --rate "fast"/);
  assert.throws(() => parseRatePerSec("0/s", "--rate"), /must be more than zero/);
});
