/**
 * The deploy files cannot be run here (no Docker, no cluster), so this checks what makes them work
 * or fail: the Dockerfile is multi-stage, non-root, installs production deps only, copies every
 * source file the CLI imports, and has the right entrypoint; the Kubernetes manifests use flags the
 * CLI really has, agree on ports and names (Deployment ↔ Service ↔ CLI flags ↔ worker's dns:
 * target), give drains time to finish, and probe paths the router's admin server serves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, runToExit } from '../helpers/index.ts';

const K8S_DIR = path.join(REPO_ROOT, 'deploy', 'k8s');
const read = (rel: string): string => readFileSync(path.join(REPO_ROOT, rel), 'utf8');

// ---- Dockerfile ------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Dockerfile → instructions (comments dropped, `\` continuations joined), each with its stage index. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const out: Instruction[] = [];
  let stage = -1;
  for (const raw of joined.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `unparsable Dockerfile line: ${line}`);
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!.trim(), stage });
  }
  return out;
}

/** Every repository file reachable by relative imports from `entry` (the CLI's runtime closure). */
function importClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [path.join(REPO_ROOT, entry)];
  while (todo.length > 0 && seen.size < 5000) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = path.resolve(path.dirname(file), m[1]!);
      // bin/zeroproxy.js loads dist/ only where the sources are absent (an npm-installed package);
      // the image copies the sources, so the compiled tree (built by npm pack, if at all) is not needed.
      if (existsSync(target) && !path.relative(REPO_ROOT, target).startsWith('dist/')) todo.push(target);
    }
  }
  return seen;
}

test('Dockerfile: multi-stage, production deps only, non-root, node entrypoint, copies everything the CLI imports', () => {
  const ins = parseDockerfile(read('Dockerfile'));
  const froms = ins.filter((i) => i.op === 'FROM');
  assert.ok(froms.length >= 2, 'multi-stage');
  const last = froms.length - 1;
  assert.match(froms[last]!.args, /^node:20-slim\b/, 'final stage on node:20-slim');
  const ci = ins.find((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
  assert.ok(ci && ci.stage < last, 'npm ci runs in an earlier stage');
  assert.match(ci.args, /--omit=dev/);
  // tsx runs the sources at runtime, so it must survive --omit=dev.
  const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
  for (const dep of ['tsx', 'zeromq', 'yaml', 'commander']) assert.ok(pkg.dependencies[dep], `${dep} is a runtime dependency`);
  assert.ok(ins.some((i) => i.op === 'COPY' && i.stage === last && /--from=\S+\s+\S*node_modules/.test(i.args)), 'node_modules come from the deps stage');

  const users = ins.filter((i) => i.op === 'USER' && i.stage === last);
  assert.ok(users.length > 0, 'final stage sets USER');
  assert.ok(!/^(root|0)(:|$)/.test(users.at(-1)!.args), `final USER is not root: ${users.at(-1)!.args}`);

  const entry = ins.filter((i) => i.op === 'ENTRYPOINT' && i.stage === last).at(-1);
  assert.ok(entry, 'ENTRYPOINT in the final stage');
  assert.deepEqual(JSON.parse(entry.args), ['node', 'bin/zeroproxy.js'], 'exec-form entrypoint, so SIGTERM reaches node');

  // Every file the CLI loads at runtime lies under something the final stage copies.
  const copied = ins
    .filter((i) => i.op === 'COPY' && i.stage === last && !i.args.startsWith('--from'))
    .flatMap((i) => {
      const parts = i.args.split(/\s+/);
      return parts.slice(0, -1);
    });
  for (const src of copied) assert.ok(existsSync(path.join(REPO_ROOT, src)), `COPY source ${src} exists`);
  const closure = importClosure('bin/zeroproxy.js');
  assert.ok(closure.size > 50, `import closure found (${closure.size} files)`);
  for (const file of closure) {
    const rel = path.relative(REPO_ROOT, file);
    assert.ok(copied.some((src) => rel === src || rel.startsWith(`${src}/`)), `${rel} is needed at runtime but not copied into the image`);
  }
  // The dashboard page is read from disk next to its module.
  assert.ok(copied.some((src) => 'router/src/admin/dashboard.html'.startsWith(`${src}/`)));

  const ignore = read('.dockerignore').split(/\r?\n/).map((l) => l.trim());
  for (const must of ['node_modules', '.git']) assert.ok(ignore.includes(must), `.dockerignore lists ${must}`);
  for (const src of copied) assert.ok(!ignore.includes(src) && !ignore.includes(src.split('/')[0]!), `.dockerignore does not hide ${src}`);
});

// ---- Kubernetes ------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}

function loadManifests(): Obj[] {
  const docs: Obj[] = [];
  for (const file of readdirSync(K8S_DIR).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(readFileSync(path.join(K8S_DIR, file), 'utf8'))) {
      assert.equal(doc.errors.length, 0, `${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value = doc.toJS() as Obj | null;
      if (value) docs.push(value);
    }
  }
  return docs;
}

const manifests = loadManifests();
const byKind = (kind: string): Obj[] => manifests.filter((m) => m['kind'] === kind);
const nameOf = (m: Obj): string => (m['metadata'] as { name: string }).name;
const podSpec = (d: Obj): PodSpec => ((d['spec'] as Obj)['template'] as { spec: PodSpec }).spec;
const podLabels = (d: Obj): Record<string, string> => ((d['spec'] as Obj)['template'] as { metadata: { labels: Record<string, string> } }).metadata.labels;
const deployment = (component: string): Obj => {
  const d = byKind('Deployment').find((x) => podLabels(x)['app.kubernetes.io/component'] === component);
  assert.ok(d, `a ${component} Deployment`);
  return d;
};
const zeroproxyContainer = (d: Obj): Container => {
  const c = podSpec(d).containers.find((x) => x.args?.[0] === 'router' || x.args?.[0] === 'worker');
  assert.ok(c, `${nameOf(d)} runs zeroproxy`);
  return c;
};
function flag(args: string[], name: string): string {
  const i = args.indexOf(name);
  assert.ok(i >= 0 && i + 1 < args.length, `${name} is set`);
  return args[i + 1]!;
}
const portOf = (hostPort: string): number => Number(/(\d+)$/.exec(hostPort)![1]);
const services = (): { name: string; spec: { clusterIP?: string; publishNotReadyAddresses?: boolean; selector: Record<string, string>; ports: { name: string; port: number; targetPort: string | number }[] } }[] =>
  byKind('Service').map((s) => ({ name: nameOf(s), spec: s['spec'] as never }));

test('manifests: every document parses, deployments select their own pods, both run the same image', () => {
  assert.ok(manifests.length >= 4);
  for (const d of byKind('Deployment')) {
    const sel = ((d['spec'] as Obj)['selector'] as { matchLabels: Record<string, string> }).matchLabels;
    for (const [k, v] of Object.entries(sel)) assert.equal(podLabels(d)[k], v, `${nameOf(d)} selector ${k}`);
  }
  const router = zeroproxyContainer(deployment('router'));
  const worker = zeroproxyContainer(deployment('worker'));
  assert.equal(router.image, worker.image);
  const version = (JSON.parse(read('package.json')) as { version: string }).version;
  assert.equal(router.image, `zeroproxy:${version}`, 'image tag is the package version (docker build -t zeroproxy:<version> .)');
  assert.ok(read('Dockerfile').includes(`docker build -t ${router.image} .`), 'the Dockerfile documents the same tag');
});

test('manifests: ports agree between router flags, container ports, Services and the worker dns: target', () => {
  const router = zeroproxyContainer(deployment('router'));
  const args = router.args!;
  const ports = new Map(router.ports!.map((p) => [p.name, p.containerPort]));
  assert.equal(ports.get('http'), portOf(flag(args, '--http')));
  assert.equal(ports.get('zmq'), portOf(flag(args, '--bind')));
  assert.match(flag(args, '--bind'), /^tcp:\/\/(\*|0\.0\.0\.0):\d+$/, 'binds all interfaces so pods can reach it');
  assert.match(flag(args, '--http'), /^0\.0\.0\.0:\d+$/);
  assert.equal(ports.get('admin'), portOf(flag(args, '--admin')));
  assert.match(flag(args, '--admin'), /^0\.0\.0\.0:\d+$/, 'the kubelet probes the pod IP, so admin listens on all interfaces');

  const routerLabels = podLabels(deployment('router'));
  const svcs = services();
  for (const s of svcs) {
    for (const [k, v] of Object.entries(s.spec.selector)) assert.equal(routerLabels[k], v, `Service ${s.name} selects router pods`);
    for (const p of s.spec.ports) assert.ok(typeof p.targetPort === 'number' ? [...ports.values()].includes(p.targetPort) : ports.has(p.targetPort), `Service ${s.name} targetPort ${p.targetPort} exists`);
  }
  const httpSvc = svcs.find((s) => s.spec.clusterIP !== 'None' && s.spec.ports.some((p) => p.targetPort === 'http'));
  assert.ok(httpSvc, 'a Service for the HTTP port');
  const headless = svcs.find((s) => s.spec.clusterIP === 'None');
  assert.ok(headless, 'a headless Service for router discovery');
  assert.equal(headless.spec.publishNotReadyAddresses, true, 'workers must find routers that are not ready yet (ready needs a worker)');
  const zmqPort = headless.spec.ports.find((p) => p.targetPort === 'zmq');
  assert.ok(zmqPort, 'the headless Service exposes the ZeroMQ port');
  assert.equal(zmqPort.port, ports.get('zmq'), 'headless: pod IPs are returned, so port must equal the container port');

  const worker = zeroproxyContainer(deployment('worker'));
  const connect = flag(worker.args!, '--connect');
  assert.equal(connect, `dns:${headless.name}:${ports.get('zmq')}`, 'the worker discovers routers through the headless Service');
});

test('manifests: drains fit in the termination grace period; probes hit paths the router serves; pods run as non-root', () => {
  const adminSource = read('router/src/admin/server.ts');
  for (const component of ['router', 'worker']) {
    const d = deployment(component);
    const spec = podSpec(d);
    const c = zeroproxyContainer(d);
    const drainMs = Number(flag(c.args!, '--drain-timeout'));
    const preStop = c.lifecycle?.preStop?.exec?.command;
    const preStopSeconds = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
    assert.ok(spec.terminationGracePeriodSeconds !== undefined, `${component}: terminationGracePeriodSeconds set`);
    assert.ok(spec.terminationGracePeriodSeconds * 1000 > drainMs + preStopSeconds * 1000, `${component}: grace ${spec.terminationGracePeriodSeconds}s > preStop ${preStopSeconds}s + drain ${drainMs}ms`);
    assert.equal(spec.securityContext?.runAsNonRoot, true, `${component}: runAsNonRoot`);
    assert.notEqual(spec.securityContext?.runAsUser, 0);
  }
  const router = zeroproxyContainer(deployment('router'));
  const portNames = new Set(router.ports!.map((p) => p.name));
  for (const probe of [router.readinessProbe, router.livenessProbe]) {
    assert.ok(probe?.httpGet, 'HTTP probe');
    // An entry of the admin route table: ['/readyz', handler] (router/src/admin/server.ts).
    assert.match(adminSource, new RegExp(`\\[\\s*'${probe.httpGet.path}',`), `router admin serves ${probe.httpGet.path}`);
    assert.equal(probe.httpGet.port, 'admin', 'probes go to the admin port');
    assert.ok(portNames.has('admin'));
  }
  assert.equal(router.readinessProbe!.httpGet!.path, '/readyz');
});

test('manifests: every flag they pass exists in the CLI (zeroproxy <cmd> --help)', async () => {
  for (const component of ['router', 'worker'] as const) {
    const args = zeroproxyContainer(deployment(component)).args!;
    const help = await runToExit([component, '--help'], 30_000);
    assert.equal(help.code, 0, help.stderr);
    for (const a of args.filter((x) => x.startsWith('--'))) {
      assert.ok(new RegExp(`(^|\\s)${a}(\\s|$)`, 'm').test(help.stdout), `zeroproxy ${component} has ${a}`);
    }
  }
});
