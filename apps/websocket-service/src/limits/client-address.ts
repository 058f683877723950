import { BlockList, isIP } from 'node:net';

/**
 * IPv6 clients share the per-address limits by this prefix length by default: one subscriber
 * (a home, an office, a cloud VM) usually gets a whole /64, so counting single IPv6 addresses
 * would give one host 2^64 separate budgets.
 */
export const DEFAULT_IPV6_PREFIX_LENGTH = 64;

/** Which peers are load balancers whose `X-Forwarded-For` is believed. */
export interface TrustedProxies {
  /** True when `address` (normalized, see {@link normalizeAddress}) is a trusted proxy. */
  has(address: string): boolean;
}

/** One entry of `WEBSOCKET_TRUSTED_PROXIES`: an address, or a CIDR range. */
export interface AddressRange {
  readonly network: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * `10.0.0.1`, `10.0.0.0/8`, `fd00::/8` as an {@link AddressRange} (an address alone is a range of
 * one: /32 or /128), or what is wrong with it.
 */
export function parseAddressRange(value: string): AddressRange | string {
  const slash = value.indexOf('/');
  const network = normalizeAddress(slash === -1 ? value : value.slice(0, slash));
  const version = isIP(network);
  if (version === 0) return 'not an IP address';
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const bits = version === 4 ? 32 : 128;
  if (slash === -1) return { network, prefix: bits, family };
  const length = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(length) || Number(length) > bits) {
    return `the prefix length must be a whole number from 0 to ${bits}`;
  }
  return { network, prefix: Number(length), family };
}

/**
 * The trusted proxies of `entries` (addresses and CIDR ranges, each valid: see
 * {@link parseAddressRange}), matched by Node's `BlockList`. Throws on an invalid entry.
 */
export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const entry of entries) {
    const range = parseAddressRange(entry);
    if (typeof range === 'string') throw new Error(`${JSON.stringify(entry)}: ${range}`);
    list.addSubnet(range.network, range.prefix, range.family);
  }
  return {
    has: (address) => {
      const version = isIP(address);
      return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * The client address of a request: the peer's address, or, when the peer is a trusted proxy (a
 * load balancer), the last `X-Forwarded-For` hop that is not a trusted proxy. Without trusted
 * proxies the header is ignored: anyone can write it. A hop that is not an IP address (on the way
 * from the right to the client's) makes the whole header untrustworthy: the peer's address is
 * used instead, so a garbage header cannot invent budgets of its own.
 */
export function clientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  proxies: TrustedProxies,
): string {
  const peer = normalizeAddress(remoteAddress ?? '');
  if (forwardedFor === undefined || !proxies.has(peer)) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]!.trim());
    if (hop === '') continue;
    if (isIP(hop) === 0) return peer;
    if (!proxies.has(hop)) return hop;
  }
  return peer;
}

/** `::ffff:10.0.0.1` (IPv4 on an IPv6 socket) and `10.0.0.1` are the same client. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * The key under which `address` is counted for the per-address limits: an IPv4 address as it
 * is, an IPv6 address as its network of `ipv6PrefixLength` bits (`2001:db8:0:1:0:0:0:0/64`),
 * anything else as it is.
 */
export function addressGroup(address: string, ipv6PrefixLength: number): string {
  if (ipv6PrefixLength >= 128 || isIP(address) !== 6) return address;
  const groups = ipv6Groups(address);
  if (groups === undefined) return address;
  let bits = ipv6PrefixLength;
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits));
    groups[i] = keep === 0 ? 0 : groups[i]! & (0xffff << (16 - keep)) & 0xffff;
    bits -= 16;
  }
  return `${groups.map((group) => group.toString(16)).join(':')}/${ipv6PrefixLength}`;
}

/** The eight 16-bit groups of a valid IPv6 address (zone and embedded IPv4 allowed). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) is two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const front = parse(head);
  const back = rest === undefined ? [] : parse(rest);
  const fill = 8 - front.length - back.length;
  if (fill < 0 || (rest === undefined && fill !== 0)) return undefined;
  return [...front, ...new Array<number>(fill).fill(0), ...back];
}
