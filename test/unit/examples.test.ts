// examples/kubernetes: the manifests a reader copies. Each `secret-broker` invocation in them is parsed with the
// CLI's own flag definitions, the policy files load and bind the role as the lint wants, and the pieces agree
// (the token's audience is the issuer's, the agent reads the mounted token and writes to the in-memory volume).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { loadPolicy } from '../../broker/src/policy/load.ts';
import { checkPolicy } from '../../broker/src/policy/review/check.ts';
import { parseDuration } from '../../broker/src/util/duration.ts';
import { AGENT_FORMATS } from '../../cli/commands/agent.ts';
import { COMMON_OPTIONS } from '../../cli/context.ts';
import { COMMANDS } from '../../cli/main.ts';
import { parseRefreshAt } from '../../cli/lib/agent-schedule.ts';
import { ROOT } from '../helpers/processes.ts';

const DIR = join(ROOT, 'examples/kubernetes');
const read = (path: string) => readFileSync(join(DIR, path), 'utf8');

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  restartPolicy?: string;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes: {
    name: string;
    emptyDir?: { medium?: string };
    projected?: { sources: { serviceAccountToken?: { audience: string; expirationSeconds: number; path: string } }[] };
  }[];
}

const deployment = parseAllDocuments(read('pod.yaml')).map((d) => d.toJS() as { kind: string; spec: { template: { spec: PodSpec } } });
const pod = deployment.find((d) => d.kind === 'Deployment')!.spec.template.spec;
const all = [...(pod.initContainers ?? []), ...pod.containers];
/** The image's ENTRYPOINT minus `serve` and its flags: node and the CLI's path. */
const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))![1]!) as string[];
const brokerContainers = all.filter((c) => c.image.startsWith('ghcr.io/acme/secret-broker'));

/** The command word(s) and the rest, matched against the CLI's command table (two words first). */
function commandOf(argv: string[]): { name: string; rest: string[] } {
  const two = `${argv[0]} ${argv[1]}`;
  return COMMANDS[two] ? { name: two, rest: argv.slice(2) } : { name: argv[0]!, rest: argv.slice(1) };
}

describe('examples/kubernetes', () => {
  it('every secret-broker invocation is a CLI command with flags the CLI defines, run like the image entrypoint', () => {
    expect(brokerContainers.map((c) => c.name)).toEqual(['credentials-init', 'credentials-agent']);
    for (const c of brokerContainers) {
      expect(c.command).toEqual(entrypoint.slice(0, 2));
      const { name, rest } = commandOf(c.args ?? []);
      const command = COMMANDS[name];
      expect(command, name).toBeDefined();
      // strict: an unknown flag, or a value given to a boolean flag, throws as the CLI would.
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...COMMON_OPTIONS, ...command!.options },
        strict: true,
        allowPositionals: true,
      });
      expect(positionals).toEqual([]);
      if (name === 'agent') {
        expect(values.broker).toMatch(/^https:\/\//);
        if (values.format !== undefined) expect(AGENT_FORMATS).toContain(values.format);
        if (values['refresh-at'] !== undefined) expect(parseRefreshAt(values['refresh-at'] as string).ok).toBe(true);
      }
    }
  });

  it('an init container runs agent --once and a native sidecar the long-running agent, sharing an in-memory emptyDir with the app', () => {
    const [init, sidecar] = brokerContainers.map(
      (c) => parseArgs({ args: c.args!.slice(1), options: COMMANDS.agent!.options, strict: true }).values,
    );
    expect(init!.once).toBe(true);
    expect(sidecar!.once).toBeUndefined();
    expect(brokerContainers[1]!.restartPolicy).toBe('Always');
    const out = init!.out as string;
    expect(sidecar!.out).toBe(out);
    const volume = (c: Container, path: string) => c.volumeMounts?.find((m) => m.mountPath === path)?.name;
    const credentials = pod.volumes.find((v) => v.name === volume(brokerContainers[0]!, out))!;
    expect(credentials.emptyDir?.medium).toBe('Memory');
    const app = pod.containers.find((c) => c.name === 'app')!;
    expect(app.volumeMounts?.find((m) => m.name === credentials.name)).toMatchObject({ mountPath: out, readOnly: true });
  });

  it("the projected token has the broker's audience, is the file the agents read, and outlives nothing the issuer refuses", async () => {
    const issuers = parseYaml(read('policies/issuers.yaml')) as {
      issuers: Record<string, { audience: string; kind: string; replay: string; jwks?: unknown; max_token_age: string }>;
    };
    const cluster = issuers.issuers.cluster!;
    expect(cluster).toMatchObject({ kind: 'kubernetes', replay: 'reuse' });
    expect(cluster.jwks).toBeDefined();
    for (const c of brokerContainers) {
      const { values } = parseArgs({ args: c.args!.slice(1), options: COMMANDS.agent!.options, strict: true });
      const tokenFile = values['token-file'] as string;
      const mount = c.volumeMounts!.find((m) => tokenFile.startsWith(`${m.mountPath}/`))!;
      const projected = pod.volumes.find((v) => v.name === mount.name)!.projected!;
      const sat = projected.sources.find((s) => s.serviceAccountToken)!.serviceAccountToken!;
      expect(`${mount.mountPath}/${sat.path}`).toBe(tokenFile);
      expect(sat.audience).toBe(cluster.audience);
      expect(values.broker).toBe(cluster.audience);
      // The kubelet renews at 80% of the lifetime: a token it still hands out is younger than max_token_age.
      expect(sat.expirationSeconds * 0.8).toBeLessThanOrEqual(parseDuration(cluster.max_token_age)!);
    }
  });

  it('the policies load, and the lint finds no error (the role binds namespace and service account by pointer)', async () => {
    const files = [
      { path: 'issuers.yaml', text: read('policies/issuers.yaml') },
      { path: 'roles/payments-api.yaml', text: read('policies/roles/payments-api.yaml') },
    ];
    const loaded = await loadPolicy(files);
    expect(loaded.ok ? [] : loaded.problems).toEqual([]);
    const findings = (await checkPolicy(files)).findings;
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(findings.map((f) => f.rule)).not.toContain('replay-reuse');
    const roleArgs = brokerContainers.map(
      (c) => parseArgs({ args: c.args!.slice(1), options: COMMANDS.agent!.options, strict: true }).values.role,
    );
    expect(new Set(roleArgs)).toEqual(new Set(['payments-api']));
  });
});
