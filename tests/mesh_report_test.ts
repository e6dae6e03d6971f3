/**
 * The mesh report on agents' hlog folders: the data it reads equals what
 * was written, `netspeed report DIR` writes the page, and headless
 * Chromium draws every chart offline, with the heat map switching metric.
 * A screenshot is kept in test-artifacts/ for a human to look at.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT_DIR, runCli, tempDir } from "./helpers.ts";
import { hasChromium, openOffline } from "./browser.ts";
import { writeMeshFixture } from "./mesh_fixtures.ts";
import { loadMeshDir } from "../lib/report/mesh_data.ts";

Deno.test("loadMeshDir() reads every pair's round trips and failures as written", async () => {
  await using dir = await tempDir();
  const fixture = await writeMeshFixture(dir.path);
  const data = await loadMeshDir(dir.path);
  assert.deepEqual(data.nodes, fixture.nodes);
  assert.equal(data.pairs.length, 12 * 3);
  for (const pair of data.pairs) {
    const key = `${pair.source}/${pair.target}/${pair.probe}`;
    assert.equal(pair.count, fixture.counts.get(key), key);
    assert.equal(pair.failures, fixture.failures.get(key), key);
    assert.equal(pair.probes, 60 * 10);
  }
  const p99 = (s: string, t: string) =>
    data.pairs.find((p) => p.source === s && p.target === t && p.probe === "tcp")!.p99Us!;
  assert.ok(p99("n0", "n3") > 10 * p99("n0", "n1"));
  assert.equal(
    data.bins.filter((b) => b.source === "n0" && b.target === "n1" && b.probe === "tcp").length,
    60,
  );
});

Deno.test("netspeed report DIR on agents' hlogs writes the mesh page", async () => {
  await using dir = await tempDir();
  await writeMeshFixture(dir.path);
  const result = await runCli(["report", dir.path]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^Report: .*report\.html \(.* MB, mesh of 12 pairs from 36 interval logs\)$/m,
  );
  const html = await Deno.readTextFile(join(dir.path, "report.html"));
  assert.match(html, /id="mesh-heatmap"/);
  assert.match(html, /Slowest pair \(tcp p99\): <b>n\d → n\d<\/b>/);
});

Deno.test({
  name: "the mesh report draws its heat map and pair charts offline, and the metric switches",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    await writeMeshFixture(dir.path);
    const reportPath = join(dir.path, "mesh.html");
    const out = await runCli(["report", dir.path, "-o", reportPath]);
    assert.equal(out.code, 0, out.stderr);
    await using browser = await openOffline(reportPath);
    const { page, requests, problems } = browser;
    const marks = await page.evaluate(async () => {
      // deno-lint-ignore no-explicit-any
      const g = globalThis as any;
      await g.netspeedReady;
      // deno-lint-ignore no-explicit-any
      const count = (node: any): number => {
        if (!node) return 0;
        let n = node.marktype && node.marktype !== "group" ? (node.items?.length ?? 0) : 0;
        for (const item of node.items ?? []) n += count(item);
        return n;
      };
      const result: Record<string, number> = {};
      for (const id of Object.keys(g.netspeedViews)) {
        result[id] = count(g.netspeedViews[id].scenegraph().root);
      }
      // The cells' colours follow the metric: p99 first, then loss.
      const view = g.netspeedViews["mesh-heatmap"];
      // deno-lint-ignore no-explicit-any
      const values = (data: any[]) => data.map((d) => d.value).join(",");
      const before = values(view.data("data_0") ?? []);
      await view.signal("metric", "loss").runAsync();
      const after = values(view.data("data_0") ?? []);
      result.switched = before !== after && after !== "" ? 1 : 0;
      await view.signal("metric", "p99").runAsync();
      return result;
    });
    await Deno.mkdir(join(ROOT_DIR, "test-artifacts"), { recursive: true });
    await page.screenshot({ path: join(ROOT_DIR, "test-artifacts", "mesh.png"), fullPage: true });
    await page.locator("#heatmap").screenshot({
      path: join(ROOT_DIR, "test-artifacts", "mesh-heatmap.png"),
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [`file://${reportPath}`]);
    for (const id of ["mesh-heatmap", "mesh-pair", "mesh-multiples"]) {
      assert.ok(marks[id] > 0, `${id} drew no marks: ${JSON.stringify(marks)}`);
    }
    // 12 cells and their 12 labels.
    assert.ok(marks["mesh-heatmap"] >= 24, JSON.stringify(marks));
    assert.equal(marks.switched, 1, "the heat map did not change with the metric");
  },
});
