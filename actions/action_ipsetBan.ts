import { createBanStep, defineAction, ipsetBackend, MAX_DURATION_SECONDS } from '../src/modules/api.js';

interface Args { IP: string; ipSetIPv4: string; ipSetIPv6: string; banSeconds?: number; banIPv6Prefix?: number; crowdsec?: boolean }

export default defineAction<Args>({
  name: 'action_ipsetBan',
  summary: 'Bans the address of a field in an ipset (IPv4 or IPv6 set), for banSeconds or for ever; bans survive restarts.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['IP', 'ipSetIPv4', 'ipSetIPv6'],
    properties: {
      IP: { type: 'string', description: 'Entry field holding the address; anything that is not exactly an address is logged and ignored.' },
      ipSetIPv4: { type: 'string', description: 'ipset for IPv4 addresses (hash:ip family inet, with timeout support).' },
      ipSetIPv6: { type: 'string', description: 'ipset for IPv6 addresses (hash:ip family inet6; hash:net with banIPv6Prefix).' },
      banSeconds: { type: 'integer', minimum: 0, maximum: MAX_DURATION_SECONDS, description: 'Ban length from the entry time; absent or 0 = permanent (as Pyruse); at most 10 years.' },
      crowdsec: { type: 'boolean', description: 'Also publish each ban to CrowdSec\'s Local API (top-level "crowdsec" section with machine credentials), so other hosts get it; see docs/cluster.md.' },
      banIPv6Prefix: { type: 'integer', minimum: 1, maximum: 128, description: 'Ban the whole IPv6 prefix of this length (e.g. 64); the v6 set must be hash:net.' },
    },
  },
  create(args, ctx) {
    if (args.banSeconds === 0) ctx.warn('banSeconds 0: a permanent ban, as in Pyruse (leave it out to say so)', 'banSeconds', 'W_PYRUSE_COMPAT');
    return createBanStep(ipsetBackend, {
      field: args.IP, setV4: args.ipSetIPv4, setV6: args.ipSetIPv6, setV4Arg: 'ipSetIPv4', setV6Arg: 'ipSetIPv6',
      // Pyruse compat: banSeconds 0 is a permanent ban
      banSeconds: args.banSeconds || undefined, banIPv6Prefix: args.banIPv6Prefix, crowdsec: args.crowdsec,
    }, ctx);
  },
});
