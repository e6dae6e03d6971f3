/**
 * Runs netspeed's TCP services on a Worker thread, so `bench` measures a
 * server that does not share the client's event loop.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { TcpServices } from "./tcp_services.ts";
import type { FromServerWorker, ToServerWorker } from "../worker_protocol.ts";

let services: TcpServices | undefined;

function post(message: FromServerWorker): void {
  self.postMessage(message);
}

self.onmessage = async (event: MessageEvent<ToServerWorker>) => {
  const message = event.data;
  if (message.type === "start") {
    try {
      services = TcpServices.start(message.options);
      post({ type: "listening", bound: services.bound });
    } catch (error) {
      post({ type: "error", message: (error as Error).message });
    }
  } else if (message.type === "stop") {
    await services?.close();
    post({ type: "stopped", totals: services?.totals ?? null });
  }
};
