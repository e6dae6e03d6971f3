/**
 * The report in a real browser: headless Chromium (Debian's, driven by
 * playwright-core) opens it from file:// with every network request
 * refused, and every chart must draw marks with no console error. A
 * screenshot is kept in test-artifacts/ for a human to look at.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeReport } from "../lib/commands/report.ts";
import { ROOT_DIR, tempDir } from "./helpers.ts";
import { CHROMIUM, hasChromium, openOffline } from "./browser.ts";
import {
  syntheticConnectCsv,
  syntheticLatencyCsv,
  syntheticResponsiveness,
  syntheticThroughputCsv,
} from "./report_fixtures.ts";

if (!hasChromium) {
  console.warn(`SKIPPED the browser test: ${CHROMIUM} is missing (.ci/run installs it)`);
}

/** What the page reported once every chart was drawn. */
interface Drawn {
  /** Chart ids on the page, from the specs' JSON. */
  ids: string[];
  /** Mark items drawn per chart (groups not counted). */
  marks: Record<string, number>;
  /** Charts whose element holds an SVG or a canvas. */
  surfaces: Record<string, string>;
}

Deno.test({
  name: "the report opens from file:// with the network blocked, and every chart draws marks",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const files: [string, string][] = [
      [
        "before.csv",
        syntheticLatencyCsv({
          workers: 2,
          connections: 4,
          perConnection: 2500,
          baseUs: 60,
          stalledConnection: 5,
          failEvery: 499,
        }),
      ],
      [
        "after.csv",
        syntheticLatencyCsv({
          workers: 2,
          connections: 4,
          perConnection: 2500,
          baseUs: 66,
          seed: 3,
        }),
      ],
      ["throughput.csv", syntheticThroughputCsv(4, 12, 2e9)],
      ["connect.csv", syntheticConnectCsv(2, 1000, 80)],
    ];
    // A bufferbloated path: 150 µs idle, 30 ms under load, some connects timing out.
    const rrul = syntheticResponsiveness({
      idleS: 3,
      loadedS: 8,
      idleUs: 150,
      loadedUs: 30_000,
      failEvery: 41,
    });
    files.push(["responsiveness.csv", rrul.csv]);
    await Deno.writeTextFile(join(dir.path, "responsiveness.json"), JSON.stringify(rrul.json));
    for (const [name, text] of files) await Deno.writeTextFile(join(dir.path, name), text);
    const reportPath = join(dir.path, "report.html");
    await writeReport(files.map(([name]) => ({ csvPath: join(dir.path, name) })), reportPath);

    await using browser = await openOffline(reportPath);
    const { page, requests, problems } = browser;
    // The page's own code counts marks through each Vega view's scene graph.
    const drawn: Drawn = await page.evaluate(async () => {
      // deno-lint-ignore no-explicit-any
      const g = globalThis as any;
      await g.netspeedReady;
      const ids: string[] = JSON.parse(g.document.getElementById("netspeed-charts").textContent)
        .map((c: { id: string }) => c.id);
      const marks: Record<string, number> = {};
      const surfaces: Record<string, string> = {};
      // deno-lint-ignore no-explicit-any
      const count = (node: any): number => {
        if (!node) return 0;
        let n = node.marktype && node.marktype !== "group" ? (node.items?.length ?? 0) : 0;
        for (const item of node.items ?? []) n += count(item);
        return n;
      };
      for (const id of ids) {
        const view = g.netspeedViews[id];
        marks[id] = view ? count(view.scenegraph().root) : 0;
        const element = g.document.getElementById(id);
        // Vega draws into canvas.marks or svg.marks (the actions menu has an SVG icon too).
        surfaces[id] = element.querySelector("canvas.marks")
          ? "canvas"
          : element.querySelector("svg.marks")
          ? "svg"
          : "none";
      }
      return { ids, marks, surfaces };
    });

    await Deno.mkdir(join(ROOT_DIR, "test-artifacts"), { recursive: true });
    await page.screenshot({
      path: join(ROOT_DIR, "test-artifacts", "report.png"),
      fullPage: true,
    });
    await page.locator("#latency").screenshot({
      path: join(ROOT_DIR, "test-artifacts", "report-latency.png"),
    });
    await page.locator("#responsiveness").screenshot({
      path: join(ROOT_DIR, "test-artifacts", "report-responsiveness.png"),
    });

    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [`file://${reportPath}`], "the page asked for nothing but itself");
    assert.ok(drawn.ids.length >= 16, drawn.ids.join(", "));
    for (const id of ["responsiveness-time-0", "responsiveness-distribution-0"]) {
      assert.ok(drawn.ids.includes(id), `chart ${id} is on the page`);
    }
    for (const id of drawn.ids) {
      assert.ok(drawn.marks[id] > 0, `chart ${id} drew no marks`);
      assert.notEqual(drawn.surfaces[id], "none", `chart ${id} has no SVG or canvas`);
    }
    // The scatter draws its sample: thousands of points on a canvas.
    assert.equal(drawn.surfaces["latency-time-0"], "canvas");
    assert.ok(drawn.marks["latency-time-0"] > 5000);
    // Every probe of the 11 s run is drawn (about 1 600), beside the load's shading and rules.
    assert.ok(
      drawn.marks["responsiveness-time-0"] > 1500,
      `${drawn.marks["responsiveness-time-0"]}`,
    );
  },
});
