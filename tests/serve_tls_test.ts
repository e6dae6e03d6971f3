/**
 * `serve --tls-cert --tls-key`: echo over TLS with a certificate made at
 * test time by `openssl`, and `connect --tls` timing the handshake
 * against it. Skipped, with a plain message, where `openssl` is missing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli, tempDir } from "./helpers.ts";

function haveOpenssl(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const OPENSSL = haveOpenssl();
if (!OPENSSL) {
  console.log("serve_tls_test: SKIPPED, openssl is not installed (apt-get install openssl)");
}

/** A self-signed certificate for 127.0.0.1 and localhost, valid for a day. */
async function makeCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const out = await new Deno.Command("openssl", {
    args: [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
      ...["-nodes", "-days", "1", "-subj", "/CN=netspeed test"],
      ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
      // rustls refuses a CA certificate used as the server's own.
      ...["-addext", "basicConstraints=critical,CA:FALSE"],
      ...["-keyout", key, "-out", cert],
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return { cert, key };
}

Deno.test({
  name: "serve --tls-cert runs echo over TLS, and connect --tls --ca times its handshake",
  ignore: !OPENSSL,
  async fn() {
    await using dir = await tempDir();
    const { cert, key } = await makeCertificate(dir.path);
    const server = spawnCli([
      "serve",
      ...["--port", "0", "--no-discard", "--no-chargen"],
      ...["--tls-port", "0", "--tls-cert", cert, "--tls-key", key],
    ]);
    let served;
    try {
      const port = Number(
        (await server.waitFor(/^tls-echo listening on 127\.0\.0\.1:(\d+) \(tls\)/))[1],
      );

      // A client netspeed did not write: Deno's own TLS, trusting the certificate.
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [await Deno.readTextFile(cert)],
      });
      try {
        await conn.write(new TextEncoder().encode("hello over tls"));
        const buffer = new Uint8Array(64);
        const n = await conn.read(buffer);
        assert.equal(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), "hello over tls");
      } finally {
        conn.close();
      }

      const jsonPath = join(dir.path, "tls.json");
      const ok = await runCli([
        "connect",
        `localhost:${port}`,
        ...["--tls", "--ca", cert, "-n", "40", "--json", jsonPath],
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      const summary = JSON.parse(await Deno.readTextFile(jsonPath));
      assert.equal(summary.measures, "tls");
      assert.equal(summary.done, 40);
      assert.match(ok.stdout, /plus the TLS handshake/);

      const untrusted = await runCli(["connect", `127.0.0.1:${port}`, "--tls", "-n", "5"]);
      assert.equal(untrusted.code, 1);
      assert.match(
        untrusted.stderr,
        /^netspeed: Cannot connect to "127\.0\.0\.1:\d+": TLS handshake failed \(.*certificate.*\); trust the server's certificate or its CA with --ca FILE$/m,
      );
    } finally {
      served = await server.stop("SIGTERM");
    }
    assert.equal(served.code, 0);
    // Accepted: the Deno client, 40 timed connections and 3 untrusting
    // attempts (connect gives up after 3 failures before any success).
    assert.match(served.stdout, /^tls-echo +44 /m);
  },
});

Deno.test("serve --tls-cert without --tls-key exits 2 and starts nothing", async () => {
  const result = await runCli(["serve", "--port", "0", "--tls-cert", "cert.pem"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^netspeed: Option --tls-cert "cert\.pem" needs --tls-key too/);
});

Deno.test("serve with an unreadable TLS certificate exits 1 before listening", async () => {
  await using dir = await tempDir();
  const missing = join(dir.path, "missing.pem");
  const result = await runCli([
    "serve",
    ...["--port", "0", "--discard-port", "0", "--chargen-port", "0"],
    ...["--tls-cert", missing, "--tls-key", missing],
  ]);
  assert.equal(result.code, 1);
  assert.doesNotMatch(result.stdout, /listening/);
  assert.match(result.stderr, /^netspeed: Cannot read TLS certificate file ".*missing\.pem"/);
});
