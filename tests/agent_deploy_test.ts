/**
 * deploy/kubernetes/agent/ and deploy/systemd/, checked offline: the
 * DaemonSet and headless Service pass kubernetes-models validation and
 * the conventions (tests/manifests.ts), the ServiceMonitor selects the
 * Service's metrics port, the PrometheusRule carries exactly rules.yaml,
 * which `promtool check rules` and `promtool test rules` accept, the
 * plain scrape configuration passes `promtool check config`, and every
 * command line (DaemonSet, systemd unit) is accepted by netspeed's own
 * CLI parser.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { ROOT_DIR, tempDir } from "./helpers.ts";
import { hasPromtool } from "./prometheus.ts";
import {
  assertNetspeedAccepts,
  containerCommands,
  containerEnv,
  conventionProblems,
  expandEnv,
  loadManifests,
  type Manifest,
  orphanServices,
  RECOMMENDED_LABELS,
  validateManifest,
} from "./manifests.ts";

const AGENT_DIR = join(ROOT_DIR, "deploy/kubernetes/agent");
const UNIT = join(ROOT_DIR, "deploy/systemd/netspeed-agent.service");

async function agentManifests(): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (
    const name of ["daemonset.yaml", "service.yaml", "servicemonitor.yaml", "prometheusrule.yaml"]
  ) {
    manifests.push(...await loadManifests(join(AGENT_DIR, name)));
  }
  return manifests;
}

function promtool(args: string[]): { ok: boolean; output: string } {
  const out = new Deno.Command("promtool", {
    args,
    cwd: AGENT_DIR,
    stdout: "piped",
    stderr: "piped",
  })
    .outputSync();
  const d = new TextDecoder();
  return { ok: out.success, output: d.decode(out.stdout) + d.decode(out.stderr) };
}

Deno.test("deploy/kubernetes/agent: the DaemonSet and headless Service are valid and follow the conventions", async () => {
  const manifests = await agentManifests();
  assert.deepEqual(manifests.map((m) => `${m.kind}/${m.name}`), [
    "DaemonSet/netspeed-agent",
    "Service/netspeed-agent",
    "ServiceMonitor/netspeed-agent",
    "PrometheusRule/netspeed-agent",
  ]);
  const core = manifests.filter((m) => m.kind === "DaemonSet" || m.kind === "Service");
  for (const m of core) validateManifest(m);
  assert.deepEqual(core.flatMap(conventionProblems), []);
  assert.deepEqual(orphanServices(core), []);
  for (const m of manifests) {
    for (const label of RECOMMENDED_LABELS) {
      assert.ok(m.object.metadata.labels[label], `${m.kind} ${label}`);
    }
  }
  const service = core.find((m) => m.kind === "Service")!;
  assert.equal(service.object.spec.clusterIP, "None", "headless, so DNS returns every pod");
  assert.equal(service.object.spec.publishNotReadyAddresses, true);
  const container =
    core.find((m) => m.kind === "DaemonSet")!.object.spec.template.spec.containers[0];
  const containerPorts = container.ports.map((p: { containerPort: number; protocol: string }) =>
    `${p.containerPort}/${p.protocol}`
  ).sort();
  assert.deepEqual(containerPorts, ["7007/TCP", "7007/UDP", "9108/TCP"]);
});

Deno.test("deploy/kubernetes/agent: the agent's command line is one netspeed accepts, with the peer DNS name of the Service", async () => {
  const manifests = await agentManifests();
  const daemonSet = manifests.find((m) => m.kind === "DaemonSet")!;
  const [command] = containerCommands(daemonSet);
  const env = containerEnv(command, { POD_IP: "10.244.1.7", POD_NAMESPACE: "monitoring" });
  const argv = command.argv.map((arg) => expandEnv(arg, env));
  await assertNetspeedAccepts(argv, "daemonset.yaml agent");
  assert.equal(argv[argv.indexOf("--node-id") + 1], "10.244.1.7");
  assert.equal(argv[argv.indexOf("--peers-dns") + 1], "netspeed-agent.monitoring.svc:7007");
  const service = manifests.find((m) => m.kind === "Service")!;
  assert.equal(argv[argv.indexOf("--peers-dns") + 1].split(".")[0], service.name);
  assert.equal(argv[argv.indexOf("--metrics-listen") + 1], "0.0.0.0:9108");
});

Deno.test("deploy/kubernetes/agent: the ServiceMonitor scrapes the Service's metrics port", async () => {
  const manifests = await agentManifests();
  const monitor = manifests.find((m) => m.kind === "ServiceMonitor")!;
  const service = manifests.find((m) => m.kind === "Service")!;
  assert.equal(monitor.apiVersion, "monitoring.coreos.com/v1");
  for (const [k, v] of Object.entries(monitor.object.spec.selector.matchLabels)) {
    assert.equal(service.object.metadata.labels[k], v, `selector ${k}`);
  }
  const portNames = service.object.spec.ports.map((p: { name: string }) => p.name);
  for (const endpoint of monitor.object.spec.endpoints) {
    assert.ok(portNames.includes(endpoint.port), endpoint.port);
    assert.equal(endpoint.path, "/metrics");
  }
});

Deno.test("deploy/kubernetes/agent: the PrometheusRule is rules.yaml, which promtool checks and tests", async () => {
  const manifests = await agentManifests();
  const rule = manifests.find((m) => m.kind === "PrometheusRule")!;
  const plain = parse(await Deno.readTextFile(join(AGENT_DIR, "rules.yaml")));
  assert.deepEqual(rule.object.spec.groups, plain.groups);
  const alerts = plain.groups[0].rules.filter((r: { alert?: string }) => r.alert);
  assert.deepEqual(alerts.map((r: { alert: string; for: string }) => [r.alert, r.for]), [
    ["NetspeedPairSlow", "5m"],
    ["NetspeedUdpLoss", "5m"],
  ]);
  if (!hasPromtool()) {
    console.log("agent_deploy_test: promtool not installed, rules not run");
    return;
  }
  for (
    const args of [
      ["check", "rules", "rules.yaml"],
      ["test", "rules", "rules_test.yaml"],
      ["check", "config", "prometheus-scrape.yaml"],
    ]
  ) {
    const out = promtool(args);
    assert.ok(out.ok, `promtool ${args.join(" ")}: ${out.output}`);
  }
});

Deno.test("deploy/systemd: the unit's command line is one netspeed accepts, and systemd-analyze verifies the unit", async () => {
  const text = await Deno.readTextFile(UNIT);
  const execStart = /^ExecStart=(.+)$/m.exec(text)![1];
  const argv = execStart.replace("%H", "host-1").split(/\s+/);
  assert.equal(argv[0], "/usr/local/bin/netspeed");
  await assertNetspeedAccepts(["netspeed", ...argv.slice(1)], "netspeed-agent.service");
  assert.match(text, /^KillSignal=SIGTERM$/m);
  let haveAnalyze = false;
  try {
    haveAnalyze = new Deno.Command("systemd-analyze", { args: ["--version"], stdout: "null" })
      .outputSync().success;
  } catch { /* not installed */ }
  if (!haveAnalyze) return;
  await using dir = await tempDir();
  // verify wants the binary to exist: point the copy at a stand-in.
  const binary = join(dir.path, "netspeed");
  await Deno.writeTextFile(binary, "#!/bin/sh\n");
  await Deno.chmod(binary, 0o755);
  const unit = join(dir.path, "netspeed-agent.service");
  await Deno.writeTextFile(unit, text.replaceAll("/usr/local/bin/netspeed", binary));
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", unit],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  const ours = output.split("\n").filter((line) => line.includes("netspeed-agent.service"));
  assert.deepEqual(ours, [], output);
});
