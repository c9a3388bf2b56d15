// The client's address on Node, for the audit record and the per-client rate limit. The socket peer is the
// client unless it is one of BROKER_TRUSTED_PROXIES; only then is X-Forwarded-For read, right to left, and
// the first hop that is not a trusted proxy is the client. Everything left of that hop was written by
// whoever sent the request and is never believed. Matching uses node:net's BlockList (IPv4 and IPv6).
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Hops walked at most: more trusted proxies than this in a row is a misconfiguration or an attack. */
const MAX_HOPS = 32;

export type ClientAddress = (peer: string | undefined, forwardedFor: string | null) => string | null;

/** An address as one family sees it: IPv4-mapped IPv6 (::ffff:10.0.0.1) is the IPv4 address it maps. */
export function normalizeAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped && isIPv4(mapped[1]!)) return { address: mapped[1]!, family: 'ipv4' };
  if (isIPv4(address)) return { address, family: 'ipv4' };
  // A zone id (fe80::1%eth0) names an interface of the proxy's host, not a client.
  if (isIPv6(address) && !address.includes('%')) return { address: address.toLowerCase(), family: 'ipv6' };
  return undefined;
}

/**
 * One X-Forwarded-For entry: an address, optionally with a port (1.2.3.4:5678, [2001:db8::1]:443) as some
 * proxies write it. Anything else (names, "unknown", obfuscated identifiers, garbage) is undefined.
 */
function parseHop(entry: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const text = entry.trim();
  if (text.length === 0 || text.length > 64) return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed && validPort(bracketed[2])) {
    const hop = normalizeAddress(bracketed[1]!);
    return hop?.family === 'ipv6' ? hop : undefined;
  }
  if (bracketed) return undefined;
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (v4port) return validPort(v4port[2]) ? normalizeAddress(v4port[1]!) : undefined;
  return normalizeAddress(text);
}

const validPort = (port: string | undefined) => port === undefined || Number(port) <= 65535;

/** Parses BROKER_TRUSTED_PROXIES entries (CIDR blocks or single addresses); throws naming the bad entry. */
export function parseTrustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const m = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(entry);
    const base = m ? normalizeAddress(m[1]!) : undefined;
    const max = base?.family === 'ipv4' ? 32 : 128;
    const prefix = m?.[2] === undefined ? max : Number(m[2]);
    if (!base || prefix > max || (m?.[2] !== undefined && /^0\d/.test(m[2]))) {
      throw new Error(`BROKER_TRUSTED_PROXIES entry "${entry}" is not valid: expected CIDR blocks such as 10.0.0.0/8,fd00::/8`);
    }
    list.addSubnet(base.address, prefix, base.family);
  }
  return list;
}

/** The function from socket peer and X-Forwarded-For to the client address, for the given trusted proxies. */
export function clientAddressResolver(entries: readonly string[]): ClientAddress {
  const trusted = parseTrustedProxies(entries);
  const isTrusted = (hop: { address: string; family: 'ipv4' | 'ipv6' }) => trusted.check(hop.address, hop.family);
  return (peerAddress, forwardedFor) => {
    if (peerAddress === undefined) return null;
    const peer = normalizeAddress(peerAddress);
    if (!peer) return peerAddress;
    if (entries.length === 0 || !isTrusted(peer) || forwardedFor === null) return peer.address;
    // Several X-Forwarded-For headers arrive joined with ", " (Node does this): one list, in order.
    const hops = forwardedFor.split(',');
    let client = peer;
    for (let i = hops.length - 1, walked = 0; i >= 0 && walked < MAX_HOPS; i--, walked++) {
      const hop = parseHop(hops[i]!);
      // A trusted proxy handed on something that is not an address: the last address known to be true is
      // that proxy's own. Never skip past it to something further left.
      if (!hop) return client.address;
      if (!isTrusted(hop)) return hop.address;
      client = hop;
    }
    // Every hop was a trusted proxy (or the list ran past MAX_HOPS): the leftmost one reached.
    return client.address;
  };
}
