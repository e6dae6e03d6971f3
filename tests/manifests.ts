/**
 * Offline checks of Kubernetes manifests, shared by every test that ships
 * one (`deploy/kubernetes/`, and any DaemonSet or the like added later):
 *
 * - {@linkcode loadManifests}: every YAML document of a file, parsed;
 * - {@linkcode validateManifest}: the object passes kubernetes-models'
 *   JSON-schema validation for its apiVersion and kind (Kubernetes 1.27);
 * - {@linkcode conventionProblems}: the conventions of shared/STYLE.md
 *   (recommended labels, requests and limits, a non-root security context,
 *   selectors that match their pods' labels);
 * - {@linkcode containerCommands} and {@linkcode expandEnv}: each
 *   container's command line with its `$(VAR)` references replaced as the
 *   kubelet does, so it can be fed to netspeed's own parser
 *   ({@linkcode assertNetspeedAccepts}) or run.
 *
 * @example
 * ```ts
 * for (const m of await loadManifests("deploy/kubernetes/agent.yaml")) {
 *   validateManifest(m);
 *   assert.deepEqual(conventionProblems(m), []);
 * }
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import * as apps from "kubernetes-models/apps/v1";
import * as batch from "kubernetes-models/batch/v1";
import * as core from "kubernetes-models/v1";
import { parseCommandLine } from "../lib/cli/program.ts";

/** One document of a manifest file. */
export interface Manifest {
  /** File it came from. */
  path: string;
  /** 0-based index of the document in the file. */
  index: number;
  apiVersion: string;
  kind: string;
  name: string;
  // deno-lint-ignore no-explicit-any
  object: any;
}

/** "file#2 Job/netspeed-latency": how failures name a document. */
export function describeManifest(m: Manifest): string {
  return `${m.path}#${m.index} ${m.kind}/${m.name}`;
}

/** Parses every document of a YAML file; a YAML error fails with the file and its message. */
export async function loadManifests(path: string): Promise<Manifest[]> {
  const text = await Deno.readTextFile(path);
  const docs = parseAllDocuments(text);
  const manifests: Manifest[] = [];
  for (const [index, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      throw new Error(`${path}#${index}: YAML error: ${doc.errors[0].message}`);
    }
    const object = doc.toJS();
    if (object === null || object === undefined) continue;
    assert.equal(typeof object, "object", `${path}#${index}: not a mapping`);
    manifests.push({
      path,
      index,
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: object.metadata?.name,
      object,
    });
  }
  return manifests;
}

// deno-lint-ignore no-explicit-any
type ModelClass = new (data: any) => { validate(): void };

/**
 * The kubernetes-models class of each apiVersion/kind the checks know;
 * add to it for kinds not listed.
 */
export const MODELS: Record<string, ModelClass> = {
  "v1/ConfigMap": core.ConfigMap,
  "v1/Service": core.Service,
  "v1/ServiceAccount": core.ServiceAccount,
  "v1/Namespace": core.Namespace,
  "v1/Pod": core.Pod,
  "v1/Secret": core.Secret,
  "apps/v1/Deployment": apps.Deployment,
  "apps/v1/DaemonSet": apps.DaemonSet,
  "apps/v1/StatefulSet": apps.StatefulSet,
  "batch/v1/Job": batch.Job,
  "batch/v1/CronJob": batch.CronJob,
};

/** Validates one document against the Kubernetes schema of its kind; throws naming it. */
export function validateManifest(m: Manifest): void {
  assert.ok(m.name, `${m.path}#${m.index}: metadata.name is missing`);
  const Model = MODELS[`${m.apiVersion}/${m.kind}`];
  assert.ok(Model, `${describeManifest(m)}: no model for "${m.apiVersion}" "${m.kind}"`);
  try {
    new Model(m.object).validate();
  } catch (error) {
    throw new Error(`${describeManifest(m)} is not valid: ${(error as Error).message}`);
  }
}

/** The labels every object carries (Kubernetes' recommended labels). */
export const RECOMMENDED_LABELS = [
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/component",
  "app.kubernetes.io/part-of",
  "app.kubernetes.io/version",
] as const;

// deno-lint-ignore no-explicit-any
type Obj = any;

/** The pod template of a workload (Deployment, DaemonSet, StatefulSet, Job, CronJob, Pod). */
export function podTemplateOf(m: Manifest): { metadata?: Obj; spec: Obj } | undefined {
  if (m.kind === "Pod") return m.object;
  if (m.kind === "CronJob") return m.object.spec?.jobTemplate?.spec?.template;
  return m.object.spec?.template;
}

/** `matchLabels` ⊆ `labels`. */
function selects(matchLabels: Record<string, string>, labels: Record<string, string> = {}) {
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

/**
 * What in one document goes against the conventions, in words (empty when
 * nothing): recommended labels on the object and its pods, a workload's
 * selector matching its pod labels, requests and limits of CPU and memory
 * on every container, `runAsNonRoot`, no privilege escalation.
 */
export function conventionProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const where = describeManifest(m);
  const labels = m.object.metadata?.labels ?? {};
  for (const label of RECOMMENDED_LABELS) {
    if (!labels[label]) problems.push(`${where}: label ${label} is missing`);
  }
  const template = podTemplateOf(m);
  if (!template) return problems;
  const podLabels = template.metadata?.labels ?? {};
  for (const label of RECOMMENDED_LABELS) {
    if (m.kind !== "Pod" && !podLabels[label]) {
      problems.push(`${where}: pod label ${label} is missing`);
    }
  }
  const matchLabels = m.object.spec?.selector?.matchLabels;
  if (matchLabels && !selects(matchLabels, podLabels)) {
    problems.push(`${where}: selector ${JSON.stringify(matchLabels)} does not match its pods`);
  }
  const spec = template.spec;
  const podSecurity = spec.securityContext ?? {};
  const containers: Obj[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  for (const c of containers) {
    const at = `${where} container ${c.name}`;
    for (const kind of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        if (!c.resources?.[kind]?.[resource]) problems.push(`${at}: no ${kind}.${resource}`);
      }
    }
    const security = c.securityContext ?? {};
    if ((security.runAsNonRoot ?? podSecurity.runAsNonRoot) !== true) {
      problems.push(`${at}: runAsNonRoot is not true`);
    }
    if ((security.runAsUser ?? podSecurity.runAsUser) === 0) problems.push(`${at}: runs as root`);
    if (security.allowPrivilegeEscalation !== false) {
      problems.push(`${at}: allowPrivilegeEscalation is not false`);
    }
    if (security.privileged === true) problems.push(`${at}: privileged`);
  }
  return problems;
}

/**
 * Services whose selector matches no pod template of the given documents
 * (a Service that would have no endpoints), in words.
 */
export function orphanServices(manifests: Manifest[]): string[] {
  const podLabels = manifests.map((m) => podTemplateOf(m)?.metadata?.labels).filter(Boolean);
  return manifests
    .filter((m) => m.kind === "Service" && m.object.spec?.selector)
    .filter((m) => !podLabels.some((labels) => selects(m.object.spec.selector, labels)))
    .map((m) => `${describeManifest(m)}: its selector matches no pod`);
}

/** One container's command line and environment, as written. */
export interface ContainerCommand {
  manifest: Manifest;
  container: string;
  /** `command` then `args`. */
  argv: string[];
  workingDir?: string;
  /** Its `env` entries: a literal `value`, or where the value comes from. */
  env: { name: string; value?: string; valueFrom?: Obj }[];
}

/** Every container's command line in a document (init containers first). */
export function containerCommands(m: Manifest): ContainerCommand[] {
  const spec = podTemplateOf(m)?.spec;
  if (!spec) return [];
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c: Obj) => ({
    manifest: m,
    container: c.name,
    argv: [...(c.command ?? []), ...(c.args ?? [])].map(String),
    workingDir: c.workingDir,
    env: c.env ?? [],
  }));
}

/**
 * Replaces `$(VAR)` as the kubelet does: a defined variable is replaced,
 * `$$(VAR)` is the literal `$(VAR)`, an undefined one is left as it is.
 */
export function expandEnv(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name?: string) => {
    if (whole === "$$") return "$";
    return name !== undefined && name in env ? env[name] : whole;
  });
}

/**
 * The environment a container would see: its literal `value`s, then
 * `given` for anything that comes from the Downward API or a ConfigMap
 * (every such variable must be in `given`).
 */
export function containerEnv(
  command: ContainerCommand,
  given: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of command.env) {
    if (entry.value !== undefined) env[entry.name] = expandEnv(entry.value, env);
    else {
      assert.ok(
        entry.name in given,
        `${
          describeManifest(command.manifest)
        } container ${command.container}: no value given for ${entry.name}`,
      );
      env[entry.name] = given[entry.name];
    }
  }
  return env;
}

/**
 * Asserts that netspeed's own CLI parser accepts `argv` (whose first
 * element is the `netspeed` binary) without running anything.
 */
export async function assertNetspeedAccepts(argv: string[], where: string): Promise<void> {
  assert.equal(argv[0], "netspeed", `${where}: the command is not netspeed: ${argv.join(" ")}`);
  const unexpanded = argv.find((arg) => /\$\(/.test(arg));
  assert.equal(unexpanded, undefined, `${where}: "${unexpanded}" was not expanded`);
  let invocation;
  try {
    invocation = await parseCommandLine(argv.slice(1));
  } catch (error) {
    throw new Error(`${where}: netspeed refuses "${argv.join(" ")}": ${(error as Error).message}`);
  }
  assert.ok(invocation, `${where}: "${argv.join(" ")}" only prints help`);
}
