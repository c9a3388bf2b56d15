// The oracle: Microsoft's own client (@azure/identity's ClientAssertionCredential, MSAL underneath) gets a
// token from the fake Entra endpoint with a broker token as the assertion, and parses its errors, so the fake
// speaks Entra's protocol and the azure minter's tests against it mean something.
//
// @azure/identity refuses non-https authority hosts, so the fake serves HTTPS with a self-signed certificate
// that only this client trusts (an https.Agent passed as `agent`). `disableInstanceDiscovery: true` is
// required: without it MSAL asks the public https://login.microsoftonline.com/common/discovery/instance
// about any authority it does not know, which would leave loopback. MSAL then fetches
// /{tenant}/v2.0/.well-known/openid-configuration from the fake and posts to the token endpoint it names.
import { AuthenticationRequiredError, ClientAssertionCredential } from '@azure/identity';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURE_FEDERATED_AUDIENCE } from '../../../broker/src/mint/azure.ts';
import { signBrokerToken } from '../../../broker/src/mint/broker-token.ts';
import type { MintContext } from '../../../broker/src/mint/types.ts';
import type { CompiledRole } from '../../../broker/src/policy/compile.ts';
import { startFakeEntra, type ServedFakeEntra } from '../../fakes/azure.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0c3e2b6a-1f0e-4c4d-9a55-3f5b8d2c7e11';
const SCOPE = 'https://management.azure.com/.default';

let broker: ServedIssuer;
let entra: ServedFakeEntra;

// MSAL uses the real clock for token expiry, so this file does too.
beforeAll(async () => {
  broker = await serveBrokerIssuer({ now: Date.now() });
  entra = await startFakeEntra({
    tls: true,
    apps: [
      { tenant_id: TENANT, client_id: CLIENT, federated: [{ issuer: broker.url, subject: 'role:deploy' }] },
      { tenant_id: TENANT, client_id: 'other-subject', federated: [{ issuer: broker.url, subject: 'role:other' }] },
    ],
  });
});
afterAll(async () => {
  await entra.close();
  await broker.close();
});

function ctx(): MintContext {
  broker.clock.now = Date.now();
  return {
    role: { name: 'deploy', maxTtl: 900 } as CompiledRole,
    claims: { repository: 'acme/web' },
    issuer: 'github',
    requestId: 'r1',
    now: Math.floor(Date.now() / 1000),
    maxTtl: 900,
  };
}

function credential(clientId: string, assertion: () => Promise<string>): ClientAssertionCredential {
  return new ClientAssertionCredential(TENANT, clientId, assertion, {
    authorityHost: entra.url,
    disableInstanceDiscovery: true,
    agent: entra.agent!,
    retryOptions: { maxRetries: 0 },
  });
}

describe('@azure/identity against the fake Entra endpoint', () => {
  it('gets a token with a broker token as the client assertion', async () => {
    const before = Date.now();
    const token = await credential(
      CLIENT,
      async () => (await signBrokerToken(broker.issuer, ctx(), AZURE_FEDERATED_AUDIENCE)).token,
    ).getToken(SCOPE);
    expect(token.tokenType).toBe('Bearer');
    expect(entra.issued.get(token.token)).toMatchObject({ tenant_id: TENANT, client_id: CLIENT, scope: SCOPE });
    // MSAL computed the expiry from the fake's expires_in.
    expect(token.expiresOnTimestamp).toBeGreaterThanOrEqual(before + 3590_000);
    expect(token.expiresOnTimestamp).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(entra.assertions.at(-1)?.payload).toMatchObject({ iss: broker.url, sub: 'role:deploy', aud: AZURE_FEDERATED_AUDIENCE });
  });

  it('parses the fake’s Entra error body (AADSTS code, error, status)', async () => {
    const err = await credential('other-subject', async () => (await signBrokerToken(broker.issuer, ctx(), AZURE_FEDERATED_AUDIENCE)).token)
      .getToken(SCOPE)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    // MSAL turns Entra's body into "<error>: Error(s): <error_codes> - Timestamp: ... - Description: ...
    // - Correlation ID: ... - Trace ID: ...", so every field of the fake's error was read.
    expect(err).toBeInstanceOf(AuthenticationRequiredError);
    const message = (err as Error).message;
    expect(message).toMatch(
      /^invalid_client: Error\(s\): 700213 - Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ - Description: AADSTS700213: /,
    );
    expect(message).toMatch(/- Correlation ID: [0-9a-f-]{36} - Trace ID: [0-9a-f-]{36}$/);
  });
});

describe('the fake refuses what Entra refuses', () => {
  async function post(assertion: string, clientId = CLIENT): Promise<{ status: number; codes: unknown }> {
    const res = await entra.handler(
      new Request(`${entra.url}/${TENANT}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: clientId,
          scope: SCOPE,
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      }),
    );
    const body = (await res.json()) as { error_codes?: unknown };
    return { status: res.status, codes: body.error_codes };
  }

  it('an assertion signed with a key the broker does not publish', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const kid = (await broker.issuer.jwks()).keys[0]?.kid as string;
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(broker.url)
      .setSubject('role:deploy')
      .setAudience(AZURE_FEDERATED_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(privateKey);
    expect(await post(forged)).toEqual({ status: 401, codes: [700027] });
  });

  it('a tampered payload', async () => {
    const real = (await signBrokerToken(broker.issuer, ctx(), AZURE_FEDERATED_AUDIENCE)).token;
    const [h, p, s] = real.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, repository: 'evil/repo' })).toString('base64url')}.${s}`;
    expect(await post(tampered)).toEqual({ status: 401, codes: [700027] });
  });

  it('garbage instead of a JWT', async () => {
    expect(await post('not-a-jwt')).toEqual({ status: 400, codes: [50027] });
  });

  it('an issuer whose discovery cannot be fetched', async () => {
    const fake = await startFakeEntra({
      apps: [{ tenant_id: TENANT, client_id: CLIENT, federated: [{ issuer: 'http://127.0.0.1:1', subject: 'role:deploy' }] }],
    });
    try {
      const { privateKey } = await generateKeyPair('RS256');
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'k' })
        .setIssuer('http://127.0.0.1:1')
        .setSubject('role:deploy')
        .setAudience(AZURE_FEDERATED_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      const res = await fake.handler(
        new Request(`${fake.url}/${TENANT}/oauth2/v2.0/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            client_id: CLIENT,
            scope: SCOPE,
            grant_type: 'client_credentials',
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: token,
          }),
        }),
      );
      expect(((await res.json()) as { error_codes: number[] }).error_codes).toEqual([50166]);
    } finally {
      await fake.close();
    }
  });
});
