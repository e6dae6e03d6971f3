/**
 * `nodeEchoServer(DELAY_MS, { exact: true })` in a process of its own, so a
 * timing test can give it a CPU priority (`nice`) without raising the whole
 * test runner's. Prints its port, then serves until killed.
 *
 * Usage: deno run --allow-net tests/delay_echo_server.ts DELAY_MS
 *
 * @module
 */
import { nodeEchoServer } from "./helpers.ts";

if (import.meta.main) {
  const delayMs = Number(Deno.args[0]);
  if (!(delayMs >= 0)) {
    console.error(`Invalid DELAY_MS "${Deno.args[0]}": a number of milliseconds`);
    Deno.exit(2);
  }
  const server = await nodeEchoServer(delayMs, { exact: true });
  console.log(server.port);
}
