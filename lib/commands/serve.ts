/**
 * `netspeed serve`: runs the echo, discard and chargen services (and,
 * with `--udp`, echo over UDP on the echo port's number) until
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
import { UdpEcho, type UdpEchoOptions } from "../server/udp_echo.ts";
import { TimeService } from "../clock/time_service.ts";

/** Echo over UDP as `serve` runs it: on the TCP echo port's number. */
export type ServeUdpOptions = Omit<UdpEchoOptions, "port">;

/** Options of `netspeed serve`. */
export type ServeOptions = TcpServicesOptions & {
  /** Echo over UDP on the echo port's number; off when absent or `null`. @default {null} */
  udp?: ServeUdpOptions | null;
  /** Port of the time service (clients' `--time-port`); off when absent or `null`. @default {null} */
  timePort?: number | null;
};

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
    const transport = bound.service === "tls-echo" ? "tls" : "tcp";
    console.log(`${bound.service} listening on ${formatHostPort(bound)} (${transport})`);
  }
  if (services.bound.length === 0) throw new RunError("Cannot serve: every service is turned off");
  let udp: UdpEcho | undefined;
  if (options.udp) {
    const echo = services.bound.find((b) => b.service === "echo");
    try {
      if (!echo) throw new Error("Cannot serve echo over UDP: --udp needs the echo service");
      udp = UdpEcho.start({ ...options.udp, port: echo.port });
    } catch (error) {
      await services.close();
      throw new RunError((error as Error).message);
    }
    console.log(`udp-echo listening on ${formatHostPort(udp)} (udp)`);
  }

  let time: TimeService | undefined;
  if (options.timePort != null) {
    try {
      time = TimeService.start(options.host, options.timePort);
    } catch (error) {
      await services.close();
      await udp?.close();
      throw new RunError((error as Error).message);
    }
    console.log(`time listening on ${formatHostPort(time)} (tcp)`);
  }

  const { promise: stopped, resolve } = Promise.withResolvers<Deno.Signal>();
  const removeListeners = onInterrupt(resolve);
  const signal = await stopped;
  removeListeners();
  await services.close();
  await udp?.close();
  await time?.close();
  console.log(`\nStopped by ${signal}.`);
  console.log(formatServeTotals(services.totals, services.bound.map((b) => b.service)));
  if (udp) {
    const t = udp.totals;
    console.log(
      `udp-echo: ${formatCount(t.received)} datagrams received, ${formatCount(t.echoed)} echoed (${
        formatCount(t.bytesEchoed)
      } bytes), dropped: ${formatCount(t.droppedTooBig)} too big, ${
        formatCount(t.droppedRateLimit)
      } over the rate limit`,
    );
  }
  if (time) console.log(`time: ${formatCount(time.answered)} clock readings given`);
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
