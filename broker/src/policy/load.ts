// Parses and validates a policy set from its files (path + text), with file:line:column for every error.
// Pure: the Node entry reads the directory, the Worker entry gets the files bundled at build time.
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { sha256Hex } from '../util/encoding.ts';
import {
  issuerSchema,
  issuersFileSchema,
  roleSchema,
  testsFileSchema,
  type InlineJwks,
  type IssuerConfig,
  type Role,
  type TestCase,
} from './schema.ts';

export interface PolicyFile {
  /** Relative to the policy directory, with forward slashes: issuers.yaml, roles/x.yaml, tests/y.yaml. */
  path: string;
  text: string;
}

export interface Located<T> {
  value: T;
  file: string;
  line: number;
}

export interface PolicyProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface LoadedPolicy {
  /** SHA-256 over the issuers and role files: what audit records and /healthz name. */
  hash: string;
  issuers: Map<string, IssuerConfig>;
  roles: Map<string, Located<Role>>;
  tests: Located<TestCase>[];
  files: PolicyFile[];
  /** Where each parsed document came from, so later checks (lint) can point at lines too. */
  documents: Map<string, { doc: Document; lines: LineCounter }>;
}

export type LoadResult = { ok: true; policy: LoadedPolicy } | { ok: false; problems: PolicyProblem[] };

const MAX_FILE_BYTES = 256 * 1024;

export async function loadPolicy(files: PolicyFile[]): Promise<LoadResult> {
  const problems: PolicyProblem[] = [];
  const documents = new Map<string, { doc: Document; lines: LineCounter }>();
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const parse = <S extends z.ZodType>(file: PolicyFile, schema: S): z.output<S> | undefined => {
    if (file.text.length > MAX_FILE_BYTES) {
      problems.push({ file: file.path, line: 1, column: 1, message: `file is larger than ${MAX_FILE_BYTES} bytes` });
      return undefined;
    }
    const lines = new LineCounter();
    // YAML 1.2 core schema: `yes`/`no`/`on` stay strings; big integers stay exact.
    const doc = parseDocument(file.text, { lineCounter: lines, intAsBigInt: true, uniqueKeys: true, merge: true });
    documents.set(file.path, { doc, lines });
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
        problems.push({ file: file.path, line: pos.line, column: pos.col, message: err.message.split('\n')[0] ?? err.message });
      }
      return undefined;
    }
    let data: unknown;
    try {
      // yaml's alias budget stops alias bombs (exponential expansion) while allowing ordinary reuse.
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problems.push({ file: file.path, line: 1, column: 1, message: (err as Error).message });
      return undefined;
    }
    const result = schema.safeParse(data ?? {});
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      const pos = locate(doc, lines, issue.path as PropertyKey[], issue);
      problems.push({ file: file.path, line: pos.line, column: pos.col, message: describeIssue(issue) });
    }
    return undefined;
  };

  const issuersFile = sorted.find((f) => f.path === 'issuers.yaml' || f.path === 'issuers.yml');
  const issuers = new Map<string, IssuerConfig>();
  if (!issuersFile) {
    problems.push({ file: 'issuers.yaml', line: 1, column: 1, message: 'missing: the policy set needs an issuers.yaml' });
  } else {
    const parsed = parse(issuersFile, issuersFileSchema);
    for (const [name, issuer] of Object.entries(parsed?.issuers ?? {})) issuers.set(name, issuer);
    for (const [name, issuer] of issuers) {
      if (issuer.jwks_file === undefined) continue;
      const resolved = readJwksFile(sorted, issuer);
      if (typeof resolved === 'string') {
        problems.push({ ...lineOf(documents, issuersFile.path, ['issuers', name, 'jwks_file']), message: `jwks_file: ${resolved}` });
      } else {
        issuers.set(name, { ...issuer, jwks: resolved });
      }
    }
    const urls = new Set<string>();
    for (const [name, issuer] of issuers) {
      if (urls.has(issuer.url)) {
        problems.push({
          ...lineOf(documents, issuersFile.path, ['issuers', name, 'url']),
          message: `issuer url ${issuer.url} is configured twice`,
        });
      }
      urls.add(issuer.url);
    }
  }

  const roles = new Map<string, Located<Role>>();
  const tests: Located<TestCase>[] = [];
  for (const file of sorted) {
    const roleFile = /^roles\/([^/]+)\.ya?ml$/.exec(file.path);
    if (roleFile) {
      const role = parse(file, roleSchema);
      if (!role) continue;
      const at = lineOf(documents, file.path, ['role']);
      if (role.role !== roleFile[1]) {
        problems.push({ ...at, message: `role "${role.role}" must be in a file named ${role.role}.yaml` });
      } else if (roles.has(role.role)) {
        problems.push({ ...at, message: `duplicate role name "${role.role}"` });
      } else if (issuersFile && !issuers.has(role.issuer)) {
        problems.push({ ...lineOf(documents, file.path, ['issuer']), message: `unknown issuer "${role.issuer}" (not in issuers.yaml)` });
      } else {
        roles.set(role.role, { value: role, file: file.path, line: at.line });
      }
      continue;
    }
    if (/^tests\/[^/]+\.ya?ml$/.test(file.path)) {
      const parsed = parse(file, testsFileSchema);
      for (const [i, t] of (parsed?.tests ?? []).entries()) {
        tests.push({ value: t, file: file.path, line: lineOf(documents, file.path, ['tests', i]).line });
      }
      continue;
    }
    if (file !== issuersFile && /\.ya?ml$/.test(file.path) && !file.path.endsWith('schema.json')) {
      problems.push({
        file: file.path,
        line: 1,
        column: 1,
        message: 'unexpected file: policy files are issuers.yaml, roles/*.yaml and tests/*.yaml',
      });
    }
  }
  for (const t of tests) {
    if (!roles.has(t.value.role) && problems.length === 0) {
      problems.push({ file: t.file, line: t.line, column: 1, message: `test "${t.value.name}" names unknown role "${t.value.role}"` });
    }
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, policy: { hash: await hashPolicyFiles(sorted), issuers, roles, tests, files: sorted, documents } };
}

/**
 * An issuer's `jwks_file`, read from the policy set itself (jwks/NAME.json), so Node, the Worker bundle and a
 * reload all see the same keys the policy hash covers. Returns the key set or why it is refused.
 */
function readJwksFile(files: PolicyFile[], issuer: IssuerConfig): InlineJwks | string {
  const file = files.find((f) => f.path === issuer.jwks_file);
  if (!file) return `${issuer.jwks_file} is not in the policy directory`;
  if (file.text.length > MAX_FILE_BYTES) return `${file.path} is larger than ${MAX_FILE_BYTES} bytes`;
  let data: unknown;
  try {
    data = JSON.parse(file.text);
  } catch {
    return `${file.path} is not JSON`;
  }
  // Checked as if it were written inline, so the same rules (public keys only, pinned algorithms) hold.
  const result = issuerSchema.safeParse({ ...issuer, jwks_file: undefined, jwks: data });
  if (result.success && result.data.jwks) return result.data.jwks;
  const issue = result.success ? undefined : result.error.issues[0];
  const where = issue && issue.path.length > 1 ? `${issue.path.slice(1).map(String).join('.')}: ` : '';
  return `${file.path}: ${where}${issue?.message ?? 'no keys'}`;
}

/** The policy hash covers what decides access (issuers, roles and key files), not the tests. */
export async function hashPolicyFiles(files: PolicyFile[]): Promise<string> {
  const parts = files
    .filter((f) => !f.path.startsWith('tests/') && (/\.ya?ml$/.test(f.path) || /^jwks\/[^/]+\.json$/.test(f.path)))
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((f) => `${f.path}\u0000${f.text}\u0000`);
  return sha256Hex(parts.join(''));
}

function lineOf(
  documents: Map<string, { doc: Document; lines: LineCounter }>,
  file: string,
  path: PropertyKey[],
): { file: string; line: number; column: number } {
  const entry = documents.get(file);
  if (!entry) return { file, line: 1, column: 1 };
  const pos = locate(entry.doc, entry.lines, path);
  return { file, line: pos.line, column: pos.col };
}

/** Finds the YAML node a zod issue points at; for unknown keys, the key itself. */
export function locate(doc: Document, lines: LineCounter, path: PropertyKey[], issue?: z.core.$ZodIssue): { line: number; col: number } {
  const keys = path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  for (let depth = keys.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(keys.slice(0, depth), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (!range) continue;
    if (issue?.code === 'unrecognized_keys' && depth === keys.length && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && issue.keys.includes(String(p.key.value)));
      if (pair && isScalar(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]);
    }
    return lines.linePos(range[0]);
  }
  return { line: 1, col: 1 };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  if (issue.code === 'unrecognized_keys')
    return `${where}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_union') return `${where}not a valid value here (see the policy format in the README)`;
  return `${where}${issue.message}`;
}
