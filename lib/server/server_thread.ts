/**
 * Starts netspeed's services on their own Worker thread and stops them
 * again: the main thread's handle on `server_worker.ts`.
 *
 * @module
 */
import { RunError } from "../errors.ts";
import type { FromServerWorker, ToServerWorker } from "../worker_protocol.ts";
import type {
  BoundService,
  ServiceTotals,
  TcpServiceName,
  TcpServicesOptions,
} from "./tcp_services.ts";

const SERVER_WORKER_URL = new URL("./server_worker.ts", import.meta.url).href;

/** A server running on a Worker thread. */
export interface ServerThread {
  bound: BoundService[];
  /** Port of a service that was bound. */
  port(service: TcpServiceName): number;
  /** Stops the services and the thread; resolves with their totals. */
  stop(): Promise<Record<TcpServiceName, ServiceTotals> | null>;
}

/** Starts the services on a new Worker; rejects if they cannot bind. */
export async function startServerThread(options: TcpServicesOptions): Promise<ServerThread> {
  const worker = new Worker(SERVER_WORKER_URL, { type: "module", name: "server" });
  const next = () =>
    new Promise<FromServerWorker>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<FromServerWorker>) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new RunError(`Server thread failed: ${event.message}`));
      };
    });
  const send = (message: ToServerWorker) => worker.postMessage(message);
  const started = next();
  send({ type: "start", options });
  const reply = await started;
  if (reply.type !== "listening") {
    worker.terminate();
    throw new RunError(reply.type === "error" ? reply.message : "Server thread did not start");
  }
  return {
    bound: reply.bound,
    port(service) {
      const found = reply.bound.find((b) => b.service === service);
      if (!found) throw new RunError(`The ${service} service is not running`);
      return found.port;
    },
    async stop() {
      const stopped = next();
      send({ type: "stop" });
      const last = await stopped;
      worker.terminate();
      return last.type === "stopped" ? last.totals : null;
    },
  };
}
