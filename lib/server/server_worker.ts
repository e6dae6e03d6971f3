/**
 * One server thread: runs netspeed's TCP services (and, on one thread,
 * the UDP echo) on a Worker's own event loop, so `serve --threads N` uses
 * N cores and `bench` measures a server that does not share the client's
 * event loop.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { ConnectionSlots } from "./connection_slots.ts";
import { TcpServices } from "./tcp_services.ts";
import { UdpEcho } from "./udp_echo.ts";
import type { FromServerWorker, ToServerWorker } from "../worker_protocol.ts";

let services: TcpServices | undefined;
let udp: UdpEcho | undefined;

function post(message: FromServerWorker): void {
  self.postMessage(message);
}

self.onmessage = async (event: MessageEvent<ToServerWorker>) => {
  const message = event.data;
  if (message.type === "start") {
    const { options } = message;
    try {
      const slots = new ConnectionSlots(message.slots, {
        maxConnections: options.maxConnections,
        maxPerClient: options.maxConnectionsPerClient ?? 0,
      });
      services = TcpServices.start(options, slots);
      if (message.udp) {
        try {
          // On the echo port's number, whichever the OS picked.
          const echo = services.bound.find((b) => b.service === "echo");
          udp = UdpEcho.start({ ...message.udp, port: echo?.port ?? message.udp.port });
        } catch (error) {
          await services.close();
          throw error;
        }
      }
      post({
        type: "listening",
        bound: services.bound,
        udp: udp ? { host: udp.host, port: udp.port } : null,
      });
    } catch (error) {
      post({ type: "error", message: (error as Error).message });
    }
  } else if (message.type === "totals") {
    post({
      type: "totals",
      totals: services!.totals,
      udp: udp?.totals ?? null,
      openConnections: services?.openConnections ?? 0,
    });
  } else if (message.type === "stop") {
    await services?.close();
    await udp?.close();
    post({ type: "stopped", totals: services?.totals ?? null, udp: udp?.totals ?? null });
  }
};
