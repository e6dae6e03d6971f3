/**
 * The browser builds of Vega, Vega-Lite and vega-embed that the report
 * inlines, read from the npm packages pinned in deno.json.
 *
 * The packages' `exports` do not list their browser builds, so they cannot
 * be imported as text; instead each package is imported (which puts it in
 * the module graph, so `deno run` installs it and `deno compile` embeds the
 * whole package in the binary) and its build is read from beside the entry
 * point that `import.meta.resolve` names. The same code reads from the
 * npm cache under `deno run` and from the binary's embedded files when
 * compiled.
 *
 * @module
 */
import { RunError } from "../errors.ts";
import type { InlineScript } from "./html.ts";

/** Where each package keeps its browser build, relative to the resolved entry point. */
const BUILDS = [
  { name: "vega", specifier: "vega", file: "vega.min.js" },
  { name: "vega-lite", specifier: "vega-lite", file: "vega-lite.min.js" },
  { name: "vega-embed", specifier: "vega-embed", file: "vega-embed.min.js" },
] as const;

let cached: Promise<InlineScript[]> | undefined;

/**
 * Loads the three libraries, in the order the page must run them (vega-lite
 * needs vega, vega-embed needs both). Cached for the life of the process.
 */
export function loadInlineScripts(): Promise<InlineScript[]> {
  cached ??= load().catch((error) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function load(): Promise<InlineScript[]> {
  // Literal specifiers, so that deno compile sees and embeds the packages.
  const [vega, vegaLite, vegaEmbed] = await Promise.all([
    import("vega"),
    import("vega-lite"),
    import("vega-embed"),
  ]);
  const versions: Record<string, string> = {
    "vega": vega.version,
    "vega-lite": vegaLite.version,
    "vega-embed": (vegaEmbed as unknown as { version?: string }).version ?? "",
  };
  return await Promise.all(BUILDS.map(async (build) => {
    const entry = import.meta.resolve(build.specifier);
    if (!entry.startsWith("file:")) {
      throw new RunError(
        `Cannot find the ${build.name} package to inline in the report (resolved to "${entry}")`,
      );
    }
    const url = new URL(build.file, entry);
    let code: string;
    try {
      code = await Deno.readTextFile(url);
    } catch (error) {
      throw new RunError(
        `Cannot read the ${build.name} browser build "${url.pathname}": ${
          (error as Error).message
        }`,
      );
    }
    return { name: build.name, version: versions[build.name] || versionIn(code), code };
  }));
}

/** The version a UMD build declares near its start, when the module does not export one. */
function versionIn(code: string): string {
  return code.slice(0, 4000).match(/version\s*[=:]\s*"(\d+\.\d+\.\d+)"/)?.[1] ?? "unknown";
}
