import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT_DIR } from "./helpers.ts";
import {
  assertNetspeedAccepts,
  containerCommands,
  containerEnv,
  conventionProblems,
  describeManifest,
  expandEnv,
  loadManifests,
  type Manifest,
  orphanServices,
  validateManifest,
} from "./manifests.ts";

const KUBE_DIR = join(ROOT_DIR, "deploy/kubernetes");
const ANSIBLE_DIR = join(ROOT_DIR, "deploy/ansible");

async function allManifests(): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for await (const entry of Deno.readDir(KUBE_DIR)) {
    if (/\.ya?ml$/.test(entry.name)) {
      manifests.push(...await loadManifests(join(KUBE_DIR, entry.name)));
    }
  }
  return manifests.sort((a, b) => a.path.localeCompare(b.path) || a.index - b.index);
}

/** The values a pod of an Indexed Job gets from the Downward API, and its ConfigMap's data. */
export function podEnvironment(
  manifests: Manifest[],
  index: number,
  podName: string,
): Record<string, string> {
  const configMap = manifests.find((m) => m.kind === "ConfigMap" && m.name === "netspeed-fleet");
  assert.ok(configMap, "no ConfigMap netspeed-fleet");
  return { ...configMap.object.data, JOB_COMPLETION_INDEX: String(index), POD_NAME: podName };
}

Deno.test("deploy/kubernetes: every manifest parses and passes kubernetes-models validation", async () => {
  const manifests = await allManifests();
  assert.deepEqual(
    manifests.map((m) => `${m.kind}/${m.name}`).sort(),
    [
      "ConfigMap/netspeed-fleet",
      "Deployment/netspeed-server",
      "Job/netspeed-latency",
      "Job/netspeed-throughput",
      "Service/netspeed-server",
    ],
  );
  for (const m of manifests) validateManifest(m);
});

Deno.test("deploy/kubernetes: labels, selectors, resources and security follow the conventions", async () => {
  const manifests = await allManifests();
  assert.deepEqual(manifests.flatMap(conventionProblems), []);
  assert.deepEqual(orphanServices(manifests), []);
  // The Service's named target ports exist on the server's container.
  const service = manifests.find((m) => m.kind === "Service")!;
  const deployment = manifests.find((m) => m.kind === "Deployment")!;
  const portNames = deployment.object.spec.template.spec.containers[0].ports.map((
    p: { name: string },
  ) => p.name);
  for (const port of service.object.spec.ports) assert.ok(portNames.includes(port.targetPort));
});

Deno.test("deploy/kubernetes: the client Jobs are Indexed, all at once, node id from the Downward API", async () => {
  const manifests = await allManifests();
  const jobs = manifests.filter((m) => m.kind === "Job");
  assert.equal(jobs.length, 2);
  for (const job of jobs) {
    const where = describeManifest(job);
    assert.equal(job.object.spec.completionMode, "Indexed", where);
    assert.equal(job.object.spec.parallelism, job.object.spec.completions, where);
    const [command] = containerCommands(job);
    const env = Object.fromEntries(command.env.map((e) => [e.name, e.valueFrom]));
    assert.equal(
      env.JOB_COMPLETION_INDEX?.fieldRef?.fieldPath,
      "metadata.annotations['batch.kubernetes.io/job-completion-index']",
      where,
    );
    assert.equal(env.POD_NAME?.fieldRef?.fieldPath, "metadata.name", where);
    const argv = command.argv;
    const nodeId = argv[argv.indexOf("--node-id") + 1];
    assert.match(nodeId, /\$\(JOB_COMPLETION_INDEX\)/, where);
    assert.match(nodeId, /\$\(POD_NAME\)/, where);
    // One start instant for all: it comes from the ConfigMap, not from the pod.
    const startAt = argv[argv.indexOf("--start-at") + 1];
    const startVar = /^\$\((\w+)\)$/.exec(startAt)?.[1];
    assert.ok(startVar, `${where}: --start-at ${startAt}`);
    assert.equal(env[startVar].configMapKeyRef.name, "netspeed-fleet", where);
    assert.equal(argv[argv.indexOf("--json") + 1], "-", where);
  }
});

Deno.test("deploy/kubernetes: every container command line is accepted by netspeed's parser", async () => {
  const manifests = await allManifests();
  let checked = 0;
  for (const m of manifests) {
    for (const command of containerCommands(m)) {
      const env = containerEnv(command, podEnvironment(manifests, 3, `${m.name}-3-x7k2p`));
      const argv = command.argv.map((arg) => expandEnv(arg, env));
      await assertNetspeedAccepts(argv, `${describeManifest(m)} container ${command.container}`);
      checked++;
    }
  }
  assert.equal(checked, 3); // serve and the two client Jobs
});

Deno.test("tests/manifests.ts catches a broken manifest", async () => {
  const [job] = (await allManifests()).filter((m) => m.kind === "Job");
  const broken: Manifest = structuredClone(job);
  broken.object.spec.completions = "4";
  assert.throws(() => validateManifest(broken), /Job\/netspeed-latency is not valid: .*integer/);

  const sloppy: Manifest = structuredClone(job);
  delete sloppy.object.metadata.labels["app.kubernetes.io/component"];
  sloppy.object.spec.selector = { matchLabels: { "app.kubernetes.io/name": "other" } };
  const container = sloppy.object.spec.template.spec.containers[0];
  delete container.resources.limits;
  sloppy.object.spec.template.spec.securityContext.runAsNonRoot = false;
  const problems = conventionProblems(sloppy);
  for (
    const expected of [
      /label app.kubernetes.io\/component is missing/,
      /selector .* does not match its pods/,
      /no limits.cpu/,
      /runAsNonRoot is not true/,
    ]
  ) assert.ok(problems.some((p) => expected.test(p)), `${expected} in ${problems.join("; ")}`);

  assert.equal(expandEnv("a-$(X)-$$(X)-$(Y)", { X: "1" }), "a-1-$(X)-$(Y)");
  await assert.rejects(
    assertNetspeedAccepts(["netspeed", "latency", "host:7007", "--start-at", "soon"], "test"),
    /test: netspeed refuses .*Invalid --start-at "soon"/,
  );
});

Deno.test("deploy/ansible: the playbook passes ansible-playbook --syntax-check", async () => {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("ansible-playbook", {
      args: [
        "--syntax-check",
        "-i",
        join(ANSIBLE_DIR, "inventory.example.ini"),
        join(ANSIBLE_DIR, "netspeed.yml"),
      ],
      stdout: "piped",
      stderr: "piped",
      env: { ANSIBLE_LOCAL_TEMP: await Deno.makeTempDir(), ANSIBLE_NOCOLOR: "1" },
      signal: AbortSignal.timeout(120_000),
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      console.warn("Skipped: ansible-playbook is not installed (Debian: ansible-core)");
      return;
    }
    throw error;
  }
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, text);
});

Deno.test("deploy/ansible: the netspeed command lines of the playbook are accepted by netspeed's parser", async () => {
  const { parse } = await import("yaml");
  const plays = parse(await Deno.readTextFile(join(ANSIBLE_DIR, "netspeed.yml")));
  const vars: Record<string, string> = {
    netspeed_bin: "netspeed",
    netspeed_server: "server-1.lan",
    netspeed_duration: "10s",
    // As the playbook's `date -u -d "+30 seconds" +%Y-%m-%dT%H:%M:%SZ` prints them.
    netspeed_latency_start_at: new Date(Date.now() + 30_000).toISOString().slice(0, 19) + "Z",
    netspeed_throughput_start_at: new Date(Date.now() + 70_000).toISOString().slice(0, 19) + "Z",
    netspeed_dir: "/tmp/netspeed-fleet",
    inventory_hostname: "client-1",
  };
  let checked = 0;
  for (const play of plays) {
    for (const task of play.tasks ?? []) {
      const command = task["ansible.builtin.command"];
      // argv lists (netspeed itself, or after systemd-run's options) and plain command strings.
      const words: string[] = typeof command === "string"
        ? command.split(/\s+/)
        : command?.argv ?? [];
      const at = words.findIndex((w) => w === "{{ netspeed_bin }}" || w === "netspeed");
      if (at < 0) continue;
      const rendered = words.slice(at).map((arg) =>
        arg.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
          assert.ok(name in vars, `unknown variable ${name} in task "${task.name}"`);
          return vars[name];
        })
      );
      await assertNetspeedAccepts(rendered, `playbook task "${task.name}"`);
      checked++;
    }
  }
  assert.equal(checked, 5); // serve, latency, throughput, two merges
});
