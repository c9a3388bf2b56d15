// The client address behind proxies (BROKER_TRUSTED_PROXIES): X-Forwarded-For counts only when the socket
// peer is a trusted proxy, and then only its rightmost hop that is not itself a trusted proxy. It is what the
// audit record names and what the per-client rate limit counts.
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddressResolver, parseTrustedProxies } from '../../../broker/entry/node/client-address.ts';
import { opsFixture, type OpsFixture } from '../../helpers/ops-broker.ts';

describe('the client address is the rightmost untrusted X-Forwarded-For hop, and only behind a trusted proxy', () => {
  const resolve = clientAddressResolver(['10.0.0.0/8', '192.168.1.1', 'fd00::/8']);

  it('a spoofed X-Forwarded-For from an untrusted peer is ignored: the peer is the client', () => {
    expect(resolve('203.0.113.9', '1.1.1.1')).toBe('203.0.113.9');
    expect(resolve('203.0.113.9', '10.0.0.1, 1.1.1.1')).toBe('203.0.113.9');
    expect(resolve('2001:db8::9', '1.1.1.1')).toBe('2001:db8::9');
    // Without any trusted proxy configured, nobody's header counts.
    expect(clientAddressResolver([])('10.0.0.1', '1.1.1.1')).toBe('10.0.0.1');
  });

  it('behind trusted proxies, hops the client wrote left of the real one are never believed', () => {
    expect(resolve('10.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
    // The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended what it saw.
    expect(resolve('10.0.0.1', '1.2.3.4, 198.51.100.7')).toBe('198.51.100.7');
    // A client that pretends to be behind a trusted proxy does not get past the proxy's own entry.
    expect(resolve('10.0.0.1', '1.2.3.4, 10.9.9.9, 198.51.100.7')).toBe('198.51.100.7');
    // Several trusted hops (proxy chain) are walked over.
    expect(resolve('10.0.0.1', '1.2.3.4, 198.51.100.7, 10.2.2.2, 192.168.1.1')).toBe('198.51.100.7');
    // Several headers arrive joined.
    expect(resolve('10.0.0.1', '1.2.3.4, 198.51.100.7,10.2.2.2')).toBe('198.51.100.7');
  });

  it('many hops: a long list changes nothing, and a chain of only trusted hops stops at a trusted address', () => {
    const spoof = Array.from({ length: 5000 }, (_, i) => `1.2.${i % 250}.${i % 200}`).join(', ');
    expect(resolve('10.0.0.1', `${spoof}, 198.51.100.7`)).toBe('198.51.100.7');
    const allTrusted = Array.from({ length: 100 }, (_, i) => `10.0.${i}.1`).join(', ');
    const r = resolve('10.0.0.1', `1.2.3.4, ${allTrusted}`);
    expect(r).toMatch(/^10\./);
  });

  it('garbage entries: the nearest trusted proxy stands in, never an entry further left', () => {
    for (const junk of [
      'unknown',
      '',
      'not-an-ip',
      '_hidden',
      '1.2.3',
      '1.2.3.4.5',
      '999.1.1.1',
      '1.2.3.4:99999',
      'fe80::1%eth0',
      '<script>',
      '[1.2.3.4]',
      '::ffff:zz',
    ]) {
      expect(resolve('10.0.0.1', `6.6.6.6, ${junk}`), junk).toBe('10.0.0.1');
      expect(resolve('10.0.0.1', `6.6.6.6, ${junk}, 10.3.3.3`), junk).toBe('10.3.3.3');
    }
    expect(resolve('10.0.0.1', `6.6.6.6, ${'x'.repeat(10_000)}`)).toBe('10.0.0.1');
  });

  it('IPv6-mapped IPv4 is the IPv4 address, for the peer, the hops and the trust check', () => {
    expect(resolve('::ffff:10.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
    expect(resolve('::ffff:203.0.113.9', '198.51.100.7')).toBe('203.0.113.9');
    expect(resolve('10.0.0.1', '::ffff:198.51.100.7')).toBe('198.51.100.7');
    // A mapped address of a trusted proxy is that proxy.
    expect(resolve('10.0.0.1', '198.51.100.7, ::FFFF:10.1.1.1')).toBe('198.51.100.7');
    expect(resolve('fd00::1', '2001:DB8::7')).toBe('2001:db8::7');
  });

  it('ports in the header are dropped (IPv4 and bracketed IPv6), a bare IPv6 is not mistaken for one', () => {
    expect(resolve('10.0.0.1', '198.51.100.7:51234')).toBe('198.51.100.7');
    expect(resolve('10.0.0.1', '[2001:db8::7]:443')).toBe('2001:db8::7');
    expect(resolve('10.0.0.1', '[2001:db8::7]')).toBe('2001:db8::7');
    expect(resolve('10.0.0.1', '2001:db8::7')).toBe('2001:db8::7');
    expect(resolve('10.0.0.1', '6.6.6.6, 10.2.2.2:80')).toBe('6.6.6.6');
  });

  it('BROKER_TRUSTED_PROXIES takes CIDR blocks and single addresses, and names a bad entry', () => {
    expect(() => parseTrustedProxies(['10.0.0.0/8', '::1', '2001:db8::/32', '127.0.0.1/32'])).not.toThrow();
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'proxy.example', '10.0.0.0/', '10.0.0.0/08', '*', '0.0.0.0/-1', '10.0.0.0/8/8']) {
      expect(() => parseTrustedProxies([bad]), bad).toThrow(`BROKER_TRUSTED_PROXIES entry "${bad}" is not valid`);
    }
  });
});

describe('the resolved address is what the audit record names and what the per-client limit counts', () => {
  let fx: OpsFixture;
  beforeAll(async () => {
    fx = await opsFixture('proxy');
  });
  afterAll(async () => {
    await fx.close();
  });

  const clientIps = (data: string) => {
    const db = new DatabaseSync(join(fx.dir, data, 'broker.db'), { readOnly: true });
    try {
      return (db.prepare('SELECT record FROM audit ORDER BY seq').all() as { record: string }[]).map(
        (r) => (JSON.parse(r.record) as { client_ip: string }).client_ip,
      );
    } finally {
      db.close();
    }
  };

  it('the audit record names the forwarded client behind a trusted proxy, and the peer otherwise', async () => {
    const trusted = await fx.start({ data: 'trusted', env: { BROKER_TRUSTED_PROXIES: '127.0.0.0/8,::1' } });
    expect((await trusted.exchange(await fx.token(), 'app', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' })).status).toBe(200);
    await trusted.broker.stop();
    const untrusted = await fx.start({ data: 'untrusted' });
    expect((await untrusted.exchange(await fx.token(), 'app', { 'x-forwarded-for': '198.51.100.7' })).status).toBe(200);
    await untrusted.broker.stop();
    expect(clientIps('trusted')).toEqual(['198.51.100.7']);
    expect(clientIps('untrusted')).toEqual(['127.0.0.1']);
  });

  it('the per-client limit counts forwarded clients apart behind a trusted proxy, and a spoofed header escapes nothing', async () => {
    const limits = 'client=2/1m';
    const trusted = await fx.start({ data: 'rl-trusted', env: { BROKER_TRUSTED_PROXIES: '127.0.0.1', BROKER_RATE_LIMITS: limits } });
    const as = async (ip: string) => (await trusted.exchange(await fx.token(), 'app', { 'x-forwarded-for': ip })).status;
    expect([await as('198.51.100.1'), await as('198.51.100.1'), await as('198.51.100.1')]).toEqual([200, 200, 429]);
    expect(await as('198.51.100.2')).toBe(200);
    await trusted.broker.stop();

    const direct = await fx.start({ data: 'rl-direct', env: { BROKER_RATE_LIMITS: limits } });
    const spoofed = async (i: number) => (await direct.exchange(await fx.token(), 'app', { 'x-forwarded-for': `198.51.100.${i}` })).status;
    expect([await spoofed(1), await spoofed(2), await spoofed(3), await spoofed(4)]).toEqual([200, 200, 429, 429]);
    await direct.broker.stop();
  });

  it('a bad BROKER_TRUSTED_PROXIES refuses to start, naming the entry', async () => {
    await expect(fx.start({ data: 'bad', env: { BROKER_TRUSTED_PROXIES: '10.0.0.0/8, everything' } })).rejects.toThrow(
      'BROKER_TRUSTED_PROXIES entry "everything" is not valid',
    );
  });
});
