import { cachedParseIp, ConfigError, defineFilter, networkContains, parseNetwork, type ParsedNetwork } from '../src/modules/api.js';

interface Args { field: string; nets: string[] }

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
        const ip = cachedParseIp(entry[field]);
        if (!ip) return false;
        for (const net of networks) if (networkContains(net, ip)) return true;
        return false;
      },
    };
  },
});
