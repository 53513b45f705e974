import { cachedParseIp, crowdsecBanPublisher, defineAction, eventTimeOf, parseNetwork } from '../src/modules/api.js';

interface Args { IP: string; banSeconds?: number; banIPv6Prefix?: number }

export default defineAction<Args>({
  name: 'action_crowdsecBan',
  summary: 'Publishes a ban of the address of a field to CrowdSec\'s Local API only (no local firewall): for a central peruse whose hosts apply LAPI\'s decisions. See docs/cluster.md.',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['IP'],
    properties: {
      IP: { type: 'string', description: 'Entry field holding the address; anything that is not exactly an address is logged and ignored.' },
      banSeconds: { type: 'integer', minimum: 1, description: 'Ban length from the entry time; absent = permanent (published for ten years).' },
      banIPv6Prefix: { type: 'integer', minimum: 1, maximum: 128, description: 'Publish the whole IPv6 prefix of this length (a Range decision).' },
    },
  },
  create(args, ctx) {
    const lapi = crowdsecBanPublisher(ctx, 'IP');
    let rejected = 0;
    return {
      reads: [args.IP],
      start: () => lapi.start(),
      stop: () => lapi.stop(),
      act(entry) {
        const ip = cachedParseIp(entry[args.IP]);
        if (!ip) {
          // a flood of garbage must not flood the log
          if (++rejected <= 10 || rejected % 1000 === 0) ctx.log.warn(`${ctx.label}: not published, field ${args.IP} is not an IP address (${rejected} so far)`);
          return;
        }
        const value = ip.family === 6 && args.banIPv6Prefix !== undefined && args.banIPv6Prefix < 128
          ? parseNetwork(`${ip.text}/${args.banIPv6Prefix}`)!.text
          : ip.text;
        const at = eventTimeOf(entry, ctx.clock);
        const until = args.banSeconds === undefined ? 0 : at + args.banSeconds * 1e6;
        // a backlog replayed after downtime must not publish bans that are already over
        if (until !== 0 && until <= ctx.clock.nowMicros()) return;
        lapi.publish({ value, until, at });
      },
    };
  },
});
