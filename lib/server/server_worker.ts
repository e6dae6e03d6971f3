/**
 * One server thread on a Worker: its own event loop runs the services, so
 * `serve --threads N` uses N cores and `bench` measures a server that does
 * not share the client's event loop.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { ThreadServices } from "./thread_services.ts";
import type { ToServerWorker } from "../worker_protocol.ts";

const services = new ThreadServices();

self.onmessage = async (event: MessageEvent<ToServerWorker>) => {
  self.postMessage(await services.handle(event.data));
};
