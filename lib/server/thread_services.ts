/**
 * What one server thread runs: its TCP services and, on the first thread,
 * the UDP echo, driven by the messages of `worker_protocol.ts`. The same
 * object answers on a Worker (`server_worker.ts`) and on the calling
 * thread (`serve`'s first thread, which saves a Worker's memory).
 *
 * @module
 */
import { ConnectionSlots } from "./connection_slots.ts";
import { TcpServices } from "./tcp_services.ts";
import { UdpEcho } from "./udp_echo.ts";
import type { FromServerWorker, ToServerWorker } from "../worker_protocol.ts";

/** One thread's services; answers each message with the reply the main thread waits for. */
export class ThreadServices {
  #services?: TcpServices;
  #udp?: UdpEcho;

  /** Handles one message; never throws (a failure to bind is an `error` reply). */
  async handle(message: ToServerWorker): Promise<FromServerWorker> {
    if (message.type === "start") return await this.#start(message);
    if (message.type === "totals") {
      return {
        type: "totals",
        totals: this.#services!.totals,
        udp: this.#udp?.totals ?? null,
        openConnections: this.#services?.openConnections ?? 0,
      };
    }
    await this.#services?.close();
    await this.#udp?.close();
    return {
      type: "stopped",
      totals: this.#services?.totals ?? null,
      udp: this.#udp?.totals ?? null,
    };
  }

  async #start(message: Extract<ToServerWorker, { type: "start" }>): Promise<FromServerWorker> {
    const { options } = message;
    try {
      const slots = new ConnectionSlots(message.slots, {
        maxConnections: options.maxConnections,
        maxPerClient: options.maxConnectionsPerClient ?? 0,
      });
      this.#services = TcpServices.start(options, slots);
      if (message.udp) {
        try {
          // On the echo port's number, whichever the OS picked.
          const echo = this.#services.bound.find((b) => b.service === "echo");
          this.#udp = UdpEcho.start({ ...message.udp, port: echo?.port ?? message.udp.port });
        } catch (error) {
          await this.#services.close();
          throw error;
        }
      }
      return {
        type: "listening",
        bound: this.#services.bound,
        udp: this.#udp ? { host: this.#udp.host, port: this.#udp.port } : null,
      };
    } catch (error) {
      return { type: "error", message: (error as Error).message };
    }
  }
}
