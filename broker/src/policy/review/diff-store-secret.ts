// `policy diff` for the secret-store grants (aws_secret, aws_parameter, gcp_secret): who gains or loses which
// secret. The grant's identity is the secret it reads; a grant that now exports a name more (or reads
// another version, through another role or provider) is a change a reviewer must see.
import { storeSecretEnvNames, storeSecretId, type StoreSecretGrant } from '../store-secret-names.ts';

export interface StoreSecretChange {
  widened: boolean;
  kind: string;
  summary: string;
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

export function storeSecretLabel(g: StoreSecretGrant): string {
  return `${g.type} ${storeSecretId(g)} as ${storeSecretEnvNames(g).join(', ')}`;
}

/** How the federated identity that reads it is named: the AWS role, or the GCP provider and service account. */
function reader(g: StoreSecretGrant): string {
  return g.type === 'gcp_secret' ? `${g.workload_identity_provider}/${g.service_account ?? ''}` : g.role_arn;
}

function version(g: StoreSecretGrant): string {
  if (g.type === 'aws_secret') return g.version_id ?? g.version_stage ?? 'AWSCURRENT';
  if (g.type === 'gcp_secret') return g.secret.split('/')[5] ?? '';
  return 'latest';
}

/** What changed between two grants of the same type reading the same secret. */
export function diffStoreSecret(b: StoreSecretGrant, a: StoreSecretGrant): StoreSecretChange[] {
  const out: StoreSecretChange[] = [];
  const before = storeSecretEnvNames(b);
  const after = storeSecretEnvNames(a);
  const gained = after.filter((n) => !before.includes(n));
  const lost = before.filter((n) => !after.includes(n));
  const fields = (g: StoreSecretGrant) => JSON.stringify(g.json_keys ?? null);
  if (gained.length > 0)
    out.push({ widened: true, kind: 'secret-names-added', summary: `now also exports ${gained.map(code).join(', ')}` });
  if (lost.length > 0)
    out.push({ widened: false, kind: 'secret-names-removed', summary: `no longer exports ${lost.map(code).join(', ')}` });
  if (gained.length === 0 && lost.length === 0 && fields(b) !== fields(a))
    out.push({ widened: true, kind: 'secret-fields-changed', summary: 'json_keys now pick other fields of the value' });
  if (version(b) !== version(a))
    out.push({ widened: true, kind: 'secret-version-changed', summary: `version ${code(version(b))} → ${code(version(a))}` });
  if (reader(b) !== reader(a))
    out.push({ widened: true, kind: 'secret-reader-changed', summary: `read as ${code(reader(b))} → ${code(reader(a))}` });
  return out;
}
