/**
 * `netspeed serve`: runs the echo, discard and chargen services until
 * SIGINT/SIGTERM, then prints what they did.
 *
 * @module
 */
import { ExitCode, type ExitCodeValue, RunError } from "../errors.ts";
import { onInterrupt } from "../signals.ts";
import { formatCount, formatTable } from "../table.ts";
import { formatHostPort } from "../units.ts";
import {
  DEFAULT_TCP_SERVICES_OPTIONS,
  type TcpServiceName,
  TcpServices,
  type TcpServicesOptions,
} from "../server/tcp_services.ts";

/** Options of `netspeed serve`. */
export type ServeOptions = TcpServicesOptions;

/** The defaults of `netspeed serve`. */
export const DEFAULT_SERVE_OPTIONS: Readonly<ServeOptions> = DEFAULT_TCP_SERVICES_OPTIONS;

/** Runs the services until a signal arrives; resolves with the exit code. */
export async function serve(options: ServeOptions): Promise<ExitCodeValue> {
  let services: TcpServices;
  try {
    services = TcpServices.start(options);
  } catch (error) {
    throw new RunError((error as Error).message);
  }
  for (const bound of services.bound) {
    console.log(`${bound.service} listening on ${formatHostPort(bound)} (tcp)`);
  }
  if (services.bound.length === 0) throw new RunError("Cannot serve: every service is turned off");

  const { promise: stopped, resolve } = Promise.withResolvers<Deno.Signal>();
  const removeListeners = onInterrupt(resolve);
  const signal = await stopped;
  removeListeners();
  await services.close();
  console.log(`\nStopped by ${signal}.`);
  console.log(formatServeTotals(services.totals, services.bound.map((b) => b.service)));
  return ExitCode.ok;
}

/** The totals table printed when `serve` stops. */
export function formatServeTotals(
  totals: Record<
    TcpServiceName,
    {
      connections: number;
      refused: number;
      idleClosed: number;
      bytesReceived: number;
      bytesSent: number;
    }
  >,
  services: TcpServiceName[],
): string {
  return formatTable(
    ["service", "connections", "refused", "idle closed", "bytes received", "bytes sent"],
    services.map((service) => {
      const t = totals[service];
      return [
        service,
        formatCount(t.connections),
        formatCount(t.refused),
        formatCount(t.idleClosed),
        formatCount(t.bytesReceived),
        formatCount(t.bytesSent),
      ];
    }),
  );
}
