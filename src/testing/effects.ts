// What an action would do, described from its module and args, for `peruse test`: the command
// runs in dry-run (nothing happens), and this says it in the admin's terms (a ban, an email …).
import type { StepOrigin } from '../config/build.js';
import type { Settings } from '../config/settings.js';
import type { Entry } from '../modules/api.js';
import { parseIp, parseNetwork } from '../net/ip.js';
import { compileTemplate } from '../text/template.js';

export type EffectKind = 'ban' | 'email' | 'report' | 'log' | 'other';

export interface Effect {
  kind: EffectKind;
  /** Step label, e.g. `SSH[4]`. */
  step: string;
  /** One line: `ban 1.2.3.4 in "inet f2b ssh4" for 600 s`, `report WARN: …`. */
  text: string;
  address?: string;
  set?: string;
  /** Ban length; null = for ever. */
  seconds?: number | null;
  level?: string;
  message?: string;
  subject?: string;
}

/** A function describing what one action step does with an entry, or undefined for modules it does not know. */
export type Describer = (entry: Entry, step: string) => Effect[];

export function describerFor(origin: StepOrigin, settings: Settings): Describer | undefined {
  const args = origin.args;
  switch (origin.module) {
    case 'action_nftBan':
    case 'action_ipsetBan': {
      const nft = origin.module === 'action_nftBan';
      const setV4 = String(nft ? args.nftSetIPv4 : args.ipSetIPv4);
      const setV6 = String(nft ? args.nftSetIPv6 : args.ipSetIPv6);
      const seconds = typeof args.banSeconds === 'number' ? args.banSeconds : null;
      const prefix = typeof args.banIPv6Prefix === 'number' ? args.banIPv6Prefix : undefined;
      return (entry, step) => {
        const ip = parseIp(entry[String(args.IP)]);
        // as the ban step: what is not exactly an address never reaches the firewall
        if (!ip) return [];
        const address = ip.family === 6 && prefix !== undefined && prefix < 128 ? parseNetwork(`${ip.text}/${prefix}`)!.text : ip.text;
        const set = ip.family === 4 ? setV4 : setV6;
        return [{ kind: 'ban', step, address, set, seconds, text: `ban ${address} in "${set}" ${seconds === null ? 'for ever' : `for ${seconds} s`}` }];
      };
    }
    case 'action_email': {
      const template = compileTemplate(String(args.message));
      const subject = typeof args.subject === 'string' ? args.subject : settings.email.subject;
      return (entry, step) => {
        const message = template.render(entry);
        return [{ kind: 'email', step, subject, message, text: `email "${subject}": ${message}` }];
      };
    }
    case 'action_dailyReport':
    case 'action_log': {
      const template = compileTemplate(String(args.message));
      const report = origin.module === 'action_dailyReport';
      const level = typeof args.level === 'string' ? args.level : 'INFO';
      return (entry, step) => {
        const message = template.render(entry);
        return [{ kind: report ? 'report' : 'log', step, level, message, text: `${report ? 'report' : 'log'} ${level}: ${message}` }];
      };
    }
    default:
      return undefined;
  }
}
