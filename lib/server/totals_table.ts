/**
 * The lines `serve` prints when it stops: a table of the TCP services'
 * totals and the UDP echo's line.
 *
 * @module
 */
import { formatCount, formatTable } from "../table.ts";
import type { TcpServiceName } from "./tcp_services.ts";
import type { UdpEchoTotals } from "./udp_echo.ts";

/** The UDP echo's line printed when `serve` stops. */
export function formatUdpTotals(t: UdpEchoTotals): string {
  return `udp-echo: ${formatCount(t.received)} datagrams received, ${
    formatCount(t.echoed)
  } echoed (${formatCount(t.bytesEchoed)} bytes), dropped: ${
    formatCount(t.droppedTooBig)
  } too big, ${formatCount(t.droppedRateLimit)} over the rate limit, ${
    formatCount(t.droppedSourceLimit)
  } over the per-source limit`;
}

/** The totals table printed when `serve` stops. */
export function formatServeTotals(
  totals: Partial<
    Record<
      TcpServiceName,
      {
        connections: number;
        refused: number;
        idleClosed: number;
        bytesReceived: number;
        bytesSent: number;
      }
    >
  >,
  services: TcpServiceName[],
): string {
  return formatTable(
    ["service", "connections", "refused", "idle closed", "bytes received", "bytes sent"],
    services.map((service) => {
      const t = totals[service]!;
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
