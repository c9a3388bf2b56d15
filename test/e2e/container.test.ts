// The container image without a container engine: the Dockerfile is parsed and its build steps replayed
// outside a container (the package packed and installed into a temporary root as its RUN steps do), its
// ENTRYPOINT run by Node 24 with a KEK and probed, and its HEALTHCHECK run against it. The deployment examples
// in deploy/ are checked against the Dockerfile (entrypoint, port, probes) and against `serve`'s real flags.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { serveCommand } from '../../cli/commands/serve.ts';
import { COMMON_OPTIONS } from '../../cli/context.ts';
import { packageVersion } from '../../scripts/build-package.ts';
import { type InstalledServer, startInstalled } from '../helpers/installed.ts';
import { freePort } from '../helpers/ports.ts';
import { ROOT } from '../helpers/processes.ts';

const NODE24 = process.execPath;

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string | undefined;
  steps: Instruction[];
}

/** Dockerfile instructions by stage: continuation lines joined, comments dropped, ARG defaults substituted in FROM. */
function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full) lines.push(full);
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`unparsed Dockerfile line: ${line}`);
    const keyword = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (keyword === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=', 2);
      args[k!] = v ?? '';
    } else if (keyword === 'FROM') {
      const words = rest.split(/\s+/).filter((w) => !w.startsWith('--platform='));
      const from = words[0]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? '');
      stages.push({ from, name: words[1]?.toUpperCase() === 'AS' ? words[2] : undefined, steps: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${keyword} before FROM`);
      stage.steps.push({ keyword, args: rest });
    }
  }
  return stages;
}

/** The exec (JSON) form of ENTRYPOINT / CMD: the shell form would run through /bin/sh and lose signals. */
function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** ENV in its KEY=value form (several per instruction). */
function envOf(steps: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of steps.filter((s) => s.keyword === 'ENV'))
    for (const m of s.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return env;
}

/** The flags `secret-broker serve` accepts (its own and every command's). */
const SERVE_FLAGS = { ...COMMON_OPTIONS, ...serveCommand.options };

/** Every --flag in args is a real flag of `serve`, and every string flag has a value: the unknown ones. */
function unknownServeFlags(args: string[]): string[] {
  const bad: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue;
    const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    const opt = SERVE_FLAGS[name];
    if (!opt) bad.push(a);
    else if (opt.type === 'string' && inline === undefined) {
      const value = args[i + 1];
      if (value === undefined || value.startsWith('--')) bad.push(`${a} (no value)`);
      i++;
    }
  }
  return bad;
}

/** The arguments after `serve` in a command line that runs the installed CLI. */
function serveArgs(command: string[]): string[] {
  const at = command.indexOf('serve');
  expect(at, command.join(' ')).toBeGreaterThan(0);
  expect(command[at - 1]).toMatch(/(^|\/)secret-broker(\/dist\/cli\/bin\.js)?$/);
  return command.slice(at + 1);
}

function flagValue(args: string[], flag: string): string | undefined {
  const i = args.lastIndexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const final = stages.at(-1)!;
const last = (keyword: string) => final.steps.filter((s) => s.keyword === keyword).at(-1);
const ENTRYPOINT = execForm(last('ENTRYPOINT')!.args);
const HEALTHCHECK = last('HEALTHCHECK')!.args;

describe('the Dockerfile', () => {
  it('builds on a pinned Node 24 slim or distroless base, in every stage', () => {
    expect(stages.length).toBeGreaterThan(0);
    for (const s of stages) {
      expect(s.from).toMatch(/^(node:24\.\d+\.\d+-[a-z]+-slim|gcr\.io\/distroless\/nodejs24-debian\d+:[\w.-]+)(@sha256:[0-9a-f]{64})?$/);
      expect(s.from).not.toMatch(/:latest\b/);
    }
  });

  it('runs as a numeric non-root user, with data on a volume and the port it serves exposed', () => {
    const user = last('USER')?.args ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    expect(final.steps.find((s) => s.keyword === 'VOLUME')?.args).toMatch(/"\/data"|\/data/);
    expect(envOf(final.steps).BROKER_DATA_DIR).toBe('/data');
    expect(last('EXPOSE')?.args).toBe('8787');
    // No secret is baked into the image: BROKER_KEK and tokens come at run time.
    const all = stages.flatMap((s) => s.steps);
    for (const s of all.filter((s) => s.keyword === 'ENV' || s.keyword === 'ARG')) expect(s.args).not.toMatch(/KEK|TOKEN|DATABASE_URL/);
  });

  it('its entrypoint is the installed `secret-broker serve` on 0.0.0.0:8787, in exec form, with no CMD to override', () => {
    expect(ENTRYPOINT[0]).toBe('node');
    const args = serveArgs(ENTRYPOINT);
    expect(flagValue(args, '--host')).toBe('0.0.0.0');
    expect(flagValue(args, '--port')).toBe('8787');
    expect(unknownServeFlags(args)).toEqual([]);
    expect(args).not.toContain('--dev');
    expect(last('CMD')).toBeUndefined();
  });

  it('the health check probes /healthz with node (no curl in the image) in exec form', () => {
    expect(HEALTHCHECK).toMatch(/^(--\w+(-\w+)*=\S+\s+)*CMD\s+\[/);
    const command = execForm(HEALTHCHECK.slice(HEALTHCHECK.indexOf('[')));
    expect(command[0]).toBe('node');
    expect(command.join(' ')).toContain('http://127.0.0.1:8787/healthz');
    expect(command.join(' ')).not.toMatch(/curl|wget/);
  });

  it('.dockerignore keeps local data, keys, env files and host build output out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['.git', 'node_modules', 'dist', 'release', '.data', '.dev.vars', '*.pem', '*.key'])
      expect(ignored).toContain(entry);
  });
});

describe('its build steps replayed outside a container, then its entrypoint and health check', () => {
  let dir: string;
  let fsroot: string;
  let broker: InstalledServer | undefined;
  let port: number;
  /** An absolute path of the image, inside the temporary root. */
  const inRoot = (text: string) =>
    text.replace(/(^|[\s=:"'])\/(pkg|opt\/secret-broker|data|etc\/secret-broker)(?=[/\s"']|$)/g, `$1${fsroot}/$2`);
  const env = () => {
    const image = Object.fromEntries(Object.entries(envOf(final.steps)).map(([k, v]) => [k, inRoot(v)]));
    return { PATH: '/usr/bin:/bin', HOME: dir, ...image, BROKER_KEK: generateKekBase64() };
  };
  /** The entrypoint as this machine runs it: Node 24, paths in the temporary root, a free port on loopback. */
  const entrypoint = () =>
    ENTRYPOINT.map((a, i) => (i === 0 ? NODE24 : a === '8787' ? String(port) : a === '0.0.0.0' ? '127.0.0.1' : inRoot(a)));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-container-'));
    fsroot = join(dir, 'root');
    mkdirSync(fsroot);
    port = await freePort();
    const packageStage = stages.find((s) => s.name === 'package');
    expect(packageStage).toBeDefined();
    for (const step of packageStage!.steps.filter((s) => s.keyword === 'RUN')) {
      // The dependencies are this checkout's node_modules (installed from the same lockfile): nothing is fetched.
      if (/^npm ci\b/.test(step.args)) continue;
      const r = spawnSync('bash', ['-ec', inRoot(step.args)], { cwd: ROOT, encoding: 'utf8', env: { ...process.env } });
      if (r.status !== 0) throw new Error(`RUN ${step.args} failed:\n${r.stdout}${r.stderr}`);
    }
    // The final stage's COPY --from=package copies these paths as they are: here they stay in place.
    for (const step of final.steps.filter((s) => s.keyword === 'COPY')) {
      const [src] = step.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      expect(existsSync(inRoot(src!)), step.args).toBe(true);
    }
    // The policies a deployment mounts at BROKER_POLICIES.
    cpSync(join(ROOT, 'policies'), inRoot(envOf(final.steps).BROKER_POLICIES!), { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the RUN steps install the packed package (the version in package.json) where the entrypoint runs it', () => {
    const installed = JSON.parse(readFileSync(join(fsroot, 'opt/secret-broker/lib/node_modules/secret-broker/package.json'), 'utf8'));
    expect(installed.version).toBe(packageVersion());
    expect(statSync(inRoot(ENTRYPOINT[1]!)).isFile()).toBe(true);
    expect(statSync(join(fsroot, 'data')).isDirectory()).toBe(true);
  });

  it('without BROKER_KEK the entrypoint refuses to start and says so', () => {
    const { BROKER_KEK: _, ...noKek } = env();
    const [command, ...args] = entrypoint();
    const r = spawnSync(command!, args, { cwd: inRoot('/data'), env: noKek, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('BROKER_KEK');
  });

  it('with BROKER_KEK the entrypoint serves: /healthz and /readyz answer 200, and the HEALTHCHECK passes', async () => {
    const [command, ...args] = entrypoint();
    broker = await startInstalled(command!, args, { cwd: inRoot('/data'), env: env() });
    expect(broker.url).toBe(`http://127.0.0.1:${port}`);
    const health = await fetch(`${broker.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', version: packageVersion() });
    const ready = await fetch(`${broker.url}/readyz`);
    expect(ready.status, await ready.clone().text()).toBe(200);
    // Its data went to the volume.
    expect(existsSync(join(fsroot, 'data/broker.db'))).toBe(true);

    const check = execForm(HEALTHCHECK.slice(HEALTHCHECK.indexOf('['))).map((a, i) =>
      i === 0 ? NODE24 : a.replaceAll(':8787/', `:${port}/`),
    );
    const run = () => spawnSync(check[0]!, check.slice(1), { encoding: 'utf8', timeout: 10_000 });
    // Asynchronous spawn is not needed: the broker is another process.
    expect(run().status).toBe(0);
    expect(await broker.stop()).toBe(0);
    broker = undefined;
    expect(run().status).toBe(1);
  }, 60_000);
});

describe('the deployment examples', () => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kubernetes/deployment.yaml'), 'utf8')).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Record<string, any>;
  });
  const deployment = docs.find((d) => d.kind === 'Deployment')!;
  const service = docs.find((d) => d.kind === 'Service')!;
  const pod = deployment?.spec?.template?.spec;
  const container = pod?.containers?.[0];

  it('Kubernetes: a Deployment and a Service, the container running the image entrypoint (args only real serve flags)', () => {
    expect(deployment).toBeDefined();
    expect(service).toBeDefined();
    expect(pod.containers).toHaveLength(1);
    expect(container.image).toMatch(/secret-broker/);
    // No command: the image's ENTRYPOINT; if one is given, it must be the same.
    if (container.command !== undefined) expect(container.command).toEqual(ENTRYPOINT);
    const args: string[] = [...serveArgs(ENTRYPOINT), ...(container.args ?? [])];
    expect(unknownServeFlags(args)).toEqual([]);
    expect(flagValue(args, '--port')).toBe('8787');
    expect(args).not.toContain('--dev');
  });

  it('Kubernetes: the port is the entrypoint port; liveness probes /healthz and readiness /readyz on it', () => {
    const port = Number(flagValue(serveArgs(ENTRYPOINT), '--port'));
    const ports: { name?: string; containerPort: number }[] = container.ports;
    const byName = (p: number | string) => (typeof p === 'number' ? p : ports.find((x) => x.name === p)?.containerPort);
    expect(ports.map((p) => p.containerPort)).toEqual([port]);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(byName(container.livenessProbe.httpGet.port)).toBe(port);
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(byName(container.readinessProbe.httpGet.port)).toBe(port);
    expect(byName(service.spec.ports[0].targetPort)).toBe(port);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });

  it('Kubernetes: non-root with a read-only root filesystem; secrets from a Secret; a grace period above the drain', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBe(Number(last('USER')!.args.split(':')[0]));
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    const env: { name: string; value?: string; valueFrom?: { secretKeyRef?: unknown } }[] = container.env;
    for (const name of ['BROKER_KEK', 'BROKER_ADMIN_TOKEN', 'BROKER_DATABASE_URL']) {
      const e = env.find((x) => x.name === name);
      expect(e?.valueFrom?.secretKeyRef, name).toBeDefined();
      expect(e?.value, name).toBeUndefined();
    }
    // More than one replica needs the shared PostgreSQL stores.
    expect(deployment.spec.replicas).toBeGreaterThan(1);
    const grace = env.find((x) => x.name === 'BROKER_SHUTDOWN_GRACE')?.value ?? '25s';
    expect(grace).toMatch(/^\d+s$/);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Math.max(25, Number.parseInt(grace, 10)));
    const mounts: { mountPath: string }[] = container.volumeMounts;
    expect(mounts.map((m) => m.mountPath)).toEqual(expect.arrayContaining(['/data', envOf(final.steps).BROKER_POLICIES]));
  });

  it('systemd: ExecStart runs the installed `secret-broker serve` with real flags only, no --dev, and stops after the drain', () => {
    const unit = readFileSync(join(ROOT, 'deploy/systemd/secret-broker.service'), 'utf8');
    const directives = unit
      .split('\n')
      .filter((l) => /^\w+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
    const execStart = directives.filter(([k]) => k === 'ExecStart').map(([, v]) => v);
    expect(execStart).toHaveLength(1);
    const command = execStart[0]!.split(/\s+/);
    // systemd needs an absolute path; the script is the one the image's entrypoint runs.
    expect(command[0]).toMatch(/^\//);
    expect(command[1]).toBe(ENTRYPOINT[1]);
    const args = serveArgs(command);
    expect(unknownServeFlags(args)).toEqual([]);
    expect(args).not.toContain('--dev');
    expect(flagValue(args, '--port')).toBe('8787');
    const value = (k: string) => directives.find(([d]) => d === k)?.[1];
    expect(value('ExecReload')).toContain('-HUP');
    expect(Number.parseInt(value('TimeoutStopSec') ?? '0', 10)).toBeGreaterThan(25);
    // The KEK is never written into the unit itself.
    expect(unit).not.toMatch(/^Environment=.*BROKER_(KEK|ADMIN_TOKEN)/m);
  });

  it('the flag check itself rejects flags serve does not have', () => {
    expect(unknownServeFlags(['--host', '0.0.0.0', '--listen', ':80', '--port'])).toEqual(['--listen', '--port (no value)']);
    expect(unknownServeFlags(['--watch', '--database=postgres://x', '--policies', '/p'])).toEqual([]);
  });
});

describe('the release workflow', () => {
  const workflow = parseAllDocuments(readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8'))[0]!.toJS() as Record<string, any>;
  const image = workflow.jobs?.image;

  it('builds and pushes this Dockerfile with provenance, after the tested release, every action pinned by commit SHA', () => {
    expect(image.needs).toBe('release');
    const steps: { uses?: string; with?: Record<string, unknown> }[] = image.steps;
    for (const s of steps.filter((s) => s.uses)) expect(s.uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(build?.with).toMatchObject({ context: '.', push: true, provenance: 'mode=max' });
    expect(build?.with?.file).toBeUndefined();
    expect(steps.some((s) => s.uses?.startsWith('docker/login-action@'))).toBe(true);
    expect(image.permissions).toEqual({ contents: 'read', packages: 'write' });
  });
});
