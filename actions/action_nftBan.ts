import { createBanStep, defineAction, nftBackend, MAX_DURATION_SECONDS } from '../src/modules/api.js';

interface Args { IP: string; nftSetIPv4: string; nftSetIPv6: string; banSeconds?: number; banIPv6Prefix?: number; crowdsec?: boolean }

export default defineAction<Args>({
  name: 'action_nftBan',
  summary: 'Bans the address of a field in an nftables set (IPv4 or IPv6 set), for banSeconds or for ever; bans survive restarts.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['IP', 'nftSetIPv4', 'nftSetIPv6'],
    properties: {
      IP: { type: 'string', description: 'Entry field holding the address; anything that is not exactly an address is logged and ignored.' },
      nftSetIPv4: { type: 'string', description: 'Set for IPv4 addresses, as FAMILY TABLE SET, e.g. "ip Inet4 ssh_ban" (flags timeout).' },
      nftSetIPv6: { type: 'string', description: 'Set for IPv6 addresses, e.g. "ip6 Inet6 ssh_ban".' },
      banSeconds: { type: 'integer', minimum: 0, maximum: MAX_DURATION_SECONDS, description: 'Ban length from the entry time; absent or 0 = permanent (as Pyruse); at most 10 years.' },
      crowdsec: { type: 'boolean', description: 'Also publish each ban to CrowdSec\'s Local API (top-level "crowdsec" section with machine credentials), so other hosts get it; see docs/cluster.md.' },
      banIPv6Prefix: { type: 'integer', minimum: 1, maximum: 128, description: 'Ban the whole IPv6 prefix of this length (e.g. 64); the v6 set needs flags interval.' },
    },
  },
  create(args, ctx) {
    if (args.banSeconds === 0) ctx.warn('banSeconds 0: a permanent ban, as in Pyruse (leave it out to say so)', 'banSeconds', 'W_PYRUSE_COMPAT');
    return createBanStep(nftBackend, {
      field: args.IP, setV4: args.nftSetIPv4, setV6: args.nftSetIPv6, setV4Arg: 'nftSetIPv4', setV6Arg: 'nftSetIPv6',
      // Pyruse compat: banSeconds 0 is a permanent ban
      banSeconds: args.banSeconds || undefined, banIPv6Prefix: args.banIPv6Prefix, crowdsec: args.crowdsec,
    }, ctx);
  },
});
