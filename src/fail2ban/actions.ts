// A jail's `action` lines (after %(action_)s and banaction are expanded) as peruse steps: bans into
// nft sets or ipsets named after the jail, mails; anything else is reported, never guessed.
import type { Jail } from './jails.js';
import { HOST_FIELD } from './regex.js';

export type Step = Record<string, unknown>;

/** The jail's actions as ban and mail steps. */
export function banSteps(jail: Jail, name: string, banSeconds: number | undefined, notes: string[], sets: string[]): Step[] {
  const steps: Step[] = [];
  const actions = (jail.get('action') ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const setName = name.replace(/[^A-Za-z0-9_-]/g, '_');
  for (const line of actions) {
    const action = /^([^[\s]+)/.exec(line)?.[1] ?? line;
    const seconds = banSeconds === undefined ? {} : { banSeconds: Math.round(banSeconds) };
    if (/^(nftables|iptables|firewallcmd|shorewall|ufw|route)/.test(action) && !action.includes('ipset')) {
      const set4 = `inet peruse f2b-${setName}4`, set6 = `inet peruse f2b-${setName}6`;
      steps.push({ action: 'action_nftBan', args: { IP: HOST_FIELD, nftSetIPv4: set4, nftSetIPv6: set6, ...seconds } });
      sets.push(`nft add table inet peruse; nft add set inet peruse f2b-${setName}4 '{ type ipv4_addr; flags timeout; }'; nft add set inet peruse f2b-${setName}6 '{ type ipv6_addr; flags timeout; }' (and a rule dropping from them)`);
      if (!action.startsWith('nftables')) notes.push(`action ${action}: banned into nftables sets (${set4}, ${set6}) instead`);
    } else if (action.includes('ipset')) {
      steps.push({ action: 'action_ipsetBan', args: { IP: HOST_FIELD, ipSetIPv4: `f2b-${setName}`, ipSetIPv6: `f2b-${setName}6`, ...seconds } });
      sets.push(`ipset create f2b-${setName} hash:ip timeout 0; ipset create f2b-${setName}6 hash:ip family inet6 timeout 0 (and an iptables rule dropping from them)`);
    } else if (/^(sendmail|mail|sendmail-whois|sendmail-whois-lines|sendmail-buffered|mail-whois|mail-whois-lines|complain)/.test(action) || /sendmail|mail/.test(action)) {
      steps.push({ action: 'action_email', args: { subject: `[peruse] ${name}: banned {${HOST_FIELD}}`, message: `peruse banned {${HOST_FIELD}} after {failures} failures of jail ${name}.\nLast line: {MESSAGE}` } });
      if (action !== 'sendmail' && action !== 'mail') notes.push(`action ${action}: a plain email (no whois, no log lines)`);
    } else {
      notes.push(`action ${action}: not converted (peruse has no such action; bans go nowhere for it)`);
    }
  }
  if (actions.length === 0) notes.push('no action: failures are counted, nothing is banned');
  return steps;
}
