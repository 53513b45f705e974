// IPv4 addresses as unsigned 32-bit numbers: allocation sorts, counts and walks hosts
// arithmetically, so a number is the natural representation (text only at the edges).

export class NatfwInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NatfwInputError';
  }
}

export interface Ipv4Network {
  /** Network address (host bits cleared). */
  base: number;
  prefix: number;
  text: string;
}

const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function parseIpv4(text: string): number | undefined {
  if (!DOTTED_QUAD.test(text)) return undefined;
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

export function networkSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** Parses `a.b.c.d/n`; host bits set (`192.168.1.7/24`) are an error, because they usually mean a typo. */
export function parseIpv4Network(text: string): Ipv4Network {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  const address = match ? parseIpv4(match[1]!) : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  if (address === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new NatfwInputError(`not an IPv4 network in CIDR form: ${JSON.stringify(text)}`);
  }
  const size = networkSize(prefix);
  if (address % size !== 0) {
    throw new NatfwInputError(`${text}: host bits are set (did you mean ${formatIpv4(address - (address % size))}/${prefix}?)`);
  }
  return { base: address, prefix, text: `${formatIpv4(address)}/${prefix}` };
}

/** RFC 1918 plus RFC 6598 shared address space: the only sources a NAT for VPN clients should translate. */
const PRIVATE_NETWORKS: readonly Ipv4Network[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10']
  .map((text) => parseIpv4Network(text));

export function networkContainsNetwork(outer: Ipv4Network, inner: Ipv4Network): boolean {
  return inner.prefix >= outer.prefix && inner.base >= outer.base && inner.base + networkSize(inner.prefix) <= outer.base + networkSize(outer.prefix);
}

/** CIDR containment, not string prefixes: `100.7.0.0/24` is public even though it starts with "100.7". */
export function isPrivateNetwork(network: Ipv4Network): boolean {
  return PRIVATE_NETWORKS.some((privateNetwork) => networkContainsNetwork(privateNetwork, network));
}

/** First and last usable host: /31 and /32 have no network/broadcast address to leave out (RFC 3021). */
export function usableHostRange(network: Ipv4Network): { first: number; last: number } {
  const size = networkSize(network.prefix);
  if (network.prefix >= 31) return { first: network.base, last: network.base + size - 1 };
  return { first: network.base + 1, last: network.base + size - 2 };
}

export function networksOverlap(a: Ipv4Network, b: Ipv4Network): boolean {
  return a.base < b.base + networkSize(b.prefix) && b.base < a.base + networkSize(a.prefix);
}
