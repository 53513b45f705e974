// Reads the `rules.v4.<unix seconds>` archives of the eduVPN `vpn-generate-natfw` script, both as
// the script wrote them (`-s 192.168.101.2 -p tcp … --to-source 192.0.2.1:65280-65535`) and as
// `iptables-save` prints them (`-s 192.168.101.2/32 … -m tcp …`).
import type { Block } from './allocate.js';
import { parseIpv4 } from './ipv4.js';

export type Protocol = 'tcp' | 'udp' | 'icmp';
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'icmp'];

export interface LegacyRules {
  /** Port-mapped blocks per protocol; a protocol absent here is not port mapped (ICMP in the seed). */
  blocksByProtocol: Map<Protocol, Block[]>;
  /** Public addresses that appear in any SNAT rule (also port-less ones). */
  publics: Set<string>;
}

export const LEGACY_NAME = /^rules\.v4\.(\d{9,11})$/;

function optionValue(tokens: readonly string[], ...names: string[]): string | undefined {
  for (let i = 0; i < tokens.length - 1; i++) if (names.includes(tokens[i]!)) return tokens[i + 1];
  return undefined;
}

export function parseLegacyRules(text: string): LegacyRules {
  const blocksByProtocol = new Map<Protocol, Block[]>();
  const publics = new Set<string>();
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (!line.startsWith('-A ') || !/-j SNAT\b/.test(line)) continue;
    const tokens = line.split(/\s+/);
    const target = optionValue(tokens, '--to-source', '--to');
    if (!target) continue;
    const match = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+)(?:-(\d+))?)?$/.exec(target);
    if (!match || parseIpv4(match[1]!) === undefined) continue;
    const publicAddress = match[1]!;
    publics.add(publicAddress);
    const protocol = optionValue(tokens, '-p', '--protocol');
    const source = optionValue(tokens, '-s', '--source');
    if (match[2] === undefined || !source || (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'icmp')) continue;
    const sourceMatch = /^(\d+\.\d+\.\d+\.\d+)(?:\/32)?$/.exec(source);
    if (!sourceMatch || parseIpv4(sourceMatch[1]!) === undefined) continue;
    const lo = Number(match[2]);
    const hi = Number(match[3] ?? match[2]);
    const list = blocksByProtocol.get(protocol) ?? [];
    list.push({ internal: sourceMatch[1]!, public: publicAddress, lo, hi });
    blocksByProtocol.set(protocol, list);
  }
  return { blocksByProtocol, publics };
}
