/**
 * Ctrl-C and SIGTERM handling shared by the commands: the first signal asks
 * the command to stop and save what it measured, instead of the default of
 * dying with buffers unwritten.
 *
 * @module
 */

const SIGNALS: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];

/**
 * Calls `onSignal` once on SIGINT or SIGTERM. Returns a function that
 * removes the listeners, which commands call when they finish so the
 * process can exit.
 */
export function onInterrupt(onSignal: (signal: Deno.Signal) => void): () => void {
  let fired = false;
  const handlers = SIGNALS.map((signal) => {
    const handler = () => {
      // A second Ctrl-C means "now": rows are written synchronously as they
      // arrive, so exiting here loses nothing already measured.
      if (fired) Deno.exit(130);
      fired = true;
      onSignal(signal);
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  };
}
