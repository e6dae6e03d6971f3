/**
 * A report page in a real browser for the tests: Debian's headless
 * Chromium, driven by playwright-core, opens it from file:// with every
 * other request refused, and records the requests and console problems so
 * a test can assert there were none.
 *
 * @module
 */
import { chromium, type Page } from "playwright-core";

/** Where Debian's chromium package puts the browser (.ci/run installs it). */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether the browser is there; browser tests are skipped without it. */
export const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** An opened page, with what it asked for and what it complained about. */
export interface OfflinePage extends AsyncDisposable {
  page: Page;
  /** Every URL the page requested (only file:// ones were let through). */
  requests: string[];
  /** Console errors and warnings, and uncaught page errors. */
  problems: string[];
}

/** Opens `path` offline and waits until the page's charts say they are ready. */
export async function openOffline(path: string): Promise<OfflinePage> {
  const profile = await Deno.makeTempDir({ prefix: "netspeed-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // Without the background-networking flags Chromium tries hosts this machine cannot reach.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    offline: true,
  });
  const close = async () => {
    await context.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  try {
    const requests: string[] = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      requests.push(url);
      return url.startsWith("file://") ? route.continue() : route.abort();
    });
    const page = context.pages()[0] ?? await context.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`file://${path}`, { timeout: 30_000 });
    await page.waitForFunction(() => "netspeedReady" in globalThis, null, { timeout: 30_000 });
    return { page, requests, problems, [Symbol.asyncDispose]: close };
  } catch (error) {
    await close();
    throw error;
  }
}
