import { cachedParseIp, ConfigError, defineFilter, networkContains, parseNetwork, type ParsedIp, type ParsedNetwork } from '../src/modules/api.js';

interface Args { field: string; nets: string[] }

function asMappedIpv6(ip: ParsedIp): ParsedIp {
  return { family: 6, words: Uint32Array.of(0, 0, 0xffff, ip.words[0]!), text: `::ffff:${ip.text}` };
}

export default defineFilter<Args>({
  name: 'filter_inNetworks',
  summary: 'Passes when the field holds an IP address inside one of the networks (IPv4 and IPv6 CIDRs).',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['field', 'nets'],
    properties: {
      field: { type: 'string', description: 'Entry field holding an IP address.' },
      nets: { type: 'array', items: { type: 'string' }, description: 'Networks as ADDRESS/PREFIX; a bare address is a /32 or /128.' },
    },
  },
  create({ field, nets }) {
    const networks: ParsedNetwork[] = nets.map((text, i) => {
      const net = parseNetwork(text);
      if (!net) throw new ConfigError('E_BAD_NETWORK', `"${text}" is not an IPv4 or IPv6 network (ADDRESS/PREFIX); Pyruse refuses it too: fix the address or the prefix length`, `nets[${i}]`);
      return net;
    });
    return {
      reads: [field],
      test(entry) {
        // parsed once per entry even when several filters look at the same field
        const value = entry[field];
        let ip = cachedParseIp(value);
        if (!ip) return false;
        // Pyruse compat: an address written with ':' is IPv6, as Python's ipaddress reads it, so
        // ::ffff:10.1.2.3 is in ::ffff:0:0/96 but not in 10.0.0.0/8 (parseIp unmaps it for bans)
        if (ip.family === 4 && (value as string).includes(':')) ip = asMappedIpv6(ip);
        for (const net of networks) if (networkContains(net, ip)) return true;
        return false;
      },
    };
  },
});
