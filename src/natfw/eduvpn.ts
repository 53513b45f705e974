// `--eduvpn FILE`: the client networks of an eduVPN portal config dumped as JSON. OpenVPN
// ranges are split the way eduVPN splits them (one subnet per OpenVPN process, each with the
// server's own address first); WireGuard ranges are used whole.
import { NatfwInputError, formatIpv4, networkSize, parseIpv4Network, type Ipv4Network } from './ipv4.js';

export interface EduvpnNetwork {
  network: Ipv4Network;
  /** Where it came from, for messages: `default oRangeFour[2]`. */
  origin: string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Profiles in config order, with their ids: eduVPN 3 `ProfileList` (array), eduVPN 2 `vpnProfiles` (object), or a bare list. */
function profilesOf(dump: unknown): { id: string; profile: Json }[] {
  const container = isObject(dump) ? (dump.ProfileList ?? dump.profileList ?? dump.vpnProfiles ?? dump) : dump;
  if (Array.isArray(container)) {
    return container.filter(isObject).map((profile, i) => ({ id: String(profile.profileId ?? `#${i}`), profile }));
  }
  if (isObject(container)) {
    return Object.entries(container).filter(([, p]) => isObject(p)).map(([id, profile]) => ({ id, profile: profile as Json }));
  }
  return [];
}

function listLength(value: unknown, fallback: number): number {
  return Array.isArray(value) ? value.length : fallback;
}

/** eduVPN's split: `count` (a power of two) consecutive subnets of prefix + log2(count). */
export function splitLikeEduvpn(range: Ipv4Network, count: number, origin: string): EduvpnNetwork[] {
  if (!Number.isInteger(count) || count < 1 || (count & (count - 1)) !== 0) {
    throw new NatfwInputError(`${origin}: ${count} OpenVPN processes; eduVPN needs 1, 2, 4 or 8 (a power of two) to split ${range.text}`);
  }
  if (2 ** (32 - range.prefix - 2) < count) throw new NatfwInputError(`${origin}: ${range.text} is too small to split in ${count}`);
  const prefix = range.prefix + Math.log2(count);
  const size = networkSize(prefix);
  return Array.from({ length: count }, (_, i) => {
    const base = range.base + i * size;
    return { network: { base, prefix, text: `${formatIpv4(base)}/${prefix}` }, origin: `${origin}[${i}]` };
  });
}

function rangeText(value: unknown, node: number, origin: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    // a multi-node profile lists one range per node
    const picked = value[node];
    if (typeof picked !== 'string') throw new NatfwInputError(`${origin} has no entry for node ${node}`);
    return picked;
  }
  throw new NatfwInputError(`${origin} is neither a string nor a list`);
}

function parseRange(text: string, origin: string): Ipv4Network {
  try {
    return parseIpv4Network(text);
  } catch (error) {
    throw new NatfwInputError(`${origin}: ${(error as Error).message}`);
  }
}

export function eduvpnNetworks(dump: unknown, node = 0): EduvpnNetwork[] {
  const profiles = profilesOf(dump);
  if (profiles.length === 0) throw new NatfwInputError('--eduvpn: no profile found (expected ProfileList, vpnProfiles or a list of profiles)');
  const out: EduvpnNetwork[] = [];
  for (const { id, profile } of profiles) {
    const protoList = Array.isArray(profile.protoList) ? profile.protoList : ['openvpn', 'wireguard'];
    if ('oRangeFour' in profile || 'wRangeFour' in profile) {
      const openvpnRange = protoList.includes('openvpn') ? rangeText(profile.oRangeFour, node, `${id} oRangeFour`) : undefined;
      if (openvpnRange !== undefined) {
        const processes = listLength(profile.oUdpPortList, 1) + listLength(profile.oTcpPortList, 1);
        if (processes > 0) out.push(...splitLikeEduvpn(parseRange(openvpnRange, `${id} oRangeFour`), processes, `${id} oRangeFour`));
      }
      const wireguardRange = protoList.includes('wireguard') ? rangeText(profile.wRangeFour, node, `${id} wRangeFour`) : undefined;
      if (wireguardRange !== undefined) out.push({ network: parseRange(wireguardRange, `${id} wRangeFour`), origin: `${id} wRangeFour` });
    } else if (typeof profile.range === 'string') {
      // eduVPN 2: one range, one subnet per entry of vpnProtoPorts (default udp/1194 + tcp/1194)
      out.push(...splitLikeEduvpn(parseRange(profile.range, `${id} range`), listLength(profile.vpnProtoPorts, 2), `${id} range`));
    }
  }
  if (out.length === 0) throw new NatfwInputError('--eduvpn: the profiles define no IPv4 range');
  return out;
}
