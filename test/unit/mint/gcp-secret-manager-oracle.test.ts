// The fake Secret Manager is only worth what it is faithful: @google-cloud/secret-manager's own client (its
// REST fallback, over loopback HTTP), with a token the fake Google Cloud issued to the broker's service
// account, must read from it, get the payload's CRC32C, and surface its errors with Google's codes.
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcpMinter } from '../../../broker/src/mint/gcp.ts';
import { crc32c } from '../../../broker/src/util/crc32c.ts';
import { grantOf, mintContext } from '../../fakes/mint-context.ts';
import { GCP_FAKE_ENDPOINTS, GCP_PROVIDER, GCP_SA, secretStoresWorld, type SecretStoresWorld } from '../../fakes/secret-stores-world.ts';
import { serveFake, type ServedFake } from '../../fakes/tls.ts';

// The client bundles its own google-auth-library copy; an OAuth2Client of the top-level one works the same.
const asAuth = (c: OAuth2Client) =>
  c as unknown as NonNullable<ConstructorParameters<typeof SecretManagerServiceClient>[0]>['authClient'] & object;

let world: SecretStoresWorld;
let served: ServedFake;
let client: SecretManagerServiceClient;

beforeAll(async () => {
  world = await secretStoresWorld();
  const grant = grantOf('gcp', {
    workload_identity_provider: GCP_PROVIDER,
    service_account: GCP_SA,
    lifetime: '10m',
    sts_url: GCP_FAKE_ENDPOINTS.sts_url,
    iam_credentials_url: GCP_FAKE_ENDPOINTS.iam_credentials_url,
  });
  const minted = await createGcpMinter(world.deps).mint(grant, mintContext({ grant, now: Math.floor(Date.now() / 1000), maxTtl: '15m' }));
  if (!minted.ok) throw new Error(minted.detail);
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: String(minted.credential.access_token), expiry_date: Date.now() + 600_000 });
  served = await serveFake(world.secretManager.handle);
  const port = Number(new URL(served.url).port);
  client = new SecretManagerServiceClient({ fallback: true, apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient: asAuth(auth) });
});

afterAll(async () => {
  await client.close();
  await served.close();
  await world.close();
});

describe('@google-cloud/secret-manager (REST fallback) against the fake', () => {
  it('accesses the latest version with its CRC32C', async () => {
    const [version] = await client.accessSecretVersion({ name: 'projects/acme-prod/secrets/db-password/versions/latest' });
    expect(version.name).toBe('projects/123456789012/secrets/db-password/versions/2');
    const data = version.payload?.data as Uint8Array;
    expect(new TextDecoder().decode(data)).toBe('gcp-pa55-S3CRET');
    expect(Number(version.payload?.dataCrc32c)).toBe(crc32c(data));
    expect(world.secretManager.calls.at(-1)).toMatchObject({ status: 200, principal: `serviceAccount:${GCP_SA}` });
  });

  it('surfaces NOT_FOUND, FAILED_PRECONDITION and PERMISSION_DENIED with their gRPC codes', async () => {
    await expect(client.accessSecretVersion({ name: 'projects/acme-prod/secrets/db-password/versions/9' })).rejects.toMatchObject({
      code: 5,
    });
    await expect(client.accessSecretVersion({ name: 'projects/acme-prod/secrets/db-password/versions/3' })).rejects.toMatchObject({
      code: 9,
    });
    await expect(client.accessSecretVersion({ name: 'projects/acme-prod/secrets/nope/versions/1' })).rejects.toMatchObject({ code: 7 });
  });

  it('refuses a bearer the fake Google Cloud did not issue', async () => {
    const forged = new OAuth2Client();
    forged.setCredentials({ access_token: 'ya29.forged', expiry_date: Date.now() + 600_000 });
    const port = Number(new URL(served.url).port);
    const other = new SecretManagerServiceClient({
      fallback: true,
      apiEndpoint: '127.0.0.1',
      port,
      protocol: 'http',
      authClient: asAuth(forged),
    });
    await expect(other.accessSecretVersion({ name: 'projects/acme-prod/secrets/db-password/versions/1' })).rejects.toMatchObject({
      code: 16,
    });
    await other.close();
  });
});
