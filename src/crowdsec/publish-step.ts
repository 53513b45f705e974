import { ConfigError } from '../config/errors.js';
import type { ModuleContext } from '../modules/api.js';
import { Publisher } from './publisher.js';
import { lapiSettings } from './settings.js';

/** What a ban step hands over: the banned address or network, the end of the ban (µs, 0 = permanent), the event time. */
export interface PublishedBan { value: string; until: number; at: number }

export type PublishBan = (ban: PublishedBan) => void;

/** The config's one publisher, shared by every publishing step; saved before each checkpoint (see Outbox). */
export function sharedPublisher(ctx: Pick<ModuleContext, 'state' | 'settings' | 'log' | 'clock'>): Publisher | undefined {
  return ctx.state.part('crowdsec.publisher', () => {
    let publisher: Publisher;
    try {
      const settings = lapiSettings(ctx.settings);
      if (!settings?.machine) return undefined;
      publisher = new Publisher(settings, {
        storage: ctx.state.options.storage, persist: ctx.state.options.persist, log: ctx.log,
        nowMicros: () => Date.now() * 1000,
      });
    } catch (e) {
      // an unreadable password file or TLS file: a config error, before anything runs
      throw new ConfigError('E_BAD_ARGS', (e as Error).message, 'crowdsec');
    }
    // a Persistent part: the daemon saves the checkpoint right after this, so the outbox file is
    // never behind the journal cursor (nothing goes into the checkpoint itself)
    return Object.assign(publisher, { snapshot: () => { publisher.flush(); return undefined; }, restore: () => {} });
  });
}

/**
 * A ban step's way to LAPI: its decisions are named `peruse/<step label>` (e.g. `peruse/SSH[3]`).
 * Throws a ConfigError at config time when the config has no `crowdsec.machine`.
 */
export function banPublisher(ctx: ModuleContext, argName: string): { publish: PublishBan; start(): void; stop(): Promise<void> } {
  const publisher = sharedPublisher(ctx);
  if (!publisher) {
    throw new ConfigError('E_BAD_ARGS', `${argName} needs a top-level "crowdsec" section with "url" and "machine" credentials (cscli machines add)`, argName);
  }
  const scenario = `peruse/${ctx.label}`;
  return {
    publish: ctx.dryRun
      ? ({ value, until }) => ctx.effect?.(`would publish to LAPI: ban ${value} ${until === 0 ? 'permanently' : `until ${new Date(until / 1000).toISOString()}`} (${scenario})`)
      : ({ value, until, at }) => publisher.publish({ scenario, value, until, at }),
    start: () => publisher.start(),
    stop: () => publisher.stop(),
  };
}
