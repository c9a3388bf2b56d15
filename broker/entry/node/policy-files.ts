// Reads a policy directory into the file list that the pure loader takes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyFile } from '../../src/policy/load.ts';

export function readPolicyDir(dir: string): PolicyFile[] {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`policy directory ${dir} does not exist (set --policies or BROKER_POLICIES)`);
  }
  const files: PolicyFile[] = [];
  for (const name of ['issuers.yaml', 'issuers.yml']) {
    const path = join(dir, name);
    if (statSync(path, { throwIfNoEntry: false })?.isFile()) files.push({ path: name, text: readFileSync(path, 'utf8') });
  }
  for (const sub of ['roles', 'tests']) {
    const subdir = join(dir, sub);
    if (!statSync(subdir, { throwIfNoEntry: false })?.isDirectory()) continue;
    for (const name of readdirSync(subdir).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      files.push({ path: `${sub}/${name}`, text: readFileSync(join(subdir, name), 'utf8') });
    }
  }
  return files;
}
