import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalWriter, systemdCat } from '../../src/system/journal-writer.js';
import { State } from '../../src/state/state.js';
import { memoryLogger } from '../../src/system/log.js';
import log from '../../actions/action_log.js';
import { fakeContext } from '../helpers/engine.js';

/** Stands in for systemd-cat (no journald in the test box): each priority's lines go to a file. */
function fakeCat(dir: string) {
  const spawned: number[] = [];
  const command = (priority: number) => { spawned.push(priority); return ['sh', '-c', 'exec cat >> "$0"', path.join(dir, `prio${priority}.log`)]; };
  return { spawned, command };
}

describe('journal writer', () => {
  it('the default command is systemd-cat tagged peruse, with the priority, ignoring "<N>" prefixes in messages', () => {
    expect(systemdCat(4)).toEqual(['systemd-cat', '-t', 'peruse', '-p', '4', '--level-prefix=false']);
  });

  it('uses one long-lived process per priority, not one per line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-jw-'));
    const fake = fakeCat(dir);
    const writer = new JournalWriter(fake.command);
    for (let i = 0; i < 2000; i++) writer.write(i % 2 ? 'NOTICE' : 'INFO', `line ${i}`);
    await writer.close();
    expect(fake.spawned.sort()).toEqual([5, 6]);
    expect(readFileSync(path.join(dir, 'prio6.log'), 'utf8').split('\n').filter(Boolean)).toHaveLength(1000);
    expect(readFileSync(path.join(dir, 'prio5.log'), 'utf8')).toContain('line 1999\n');
  });

  it('after a close (daemon reload) the next line starts a new writer at once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-jw-'));
    const fake = fakeCat(dir);
    const writer = new JournalWriter(fake.command);
    writer.write('INFO', 'before');
    await writer.close();
    expect(writer.write('INFO', 'after')).toBe(true);
    await writer.close();
    expect(readFileSync(path.join(dir, 'prio6.log'), 'utf8')).toBe('before\nafter\n');
  });

  it('a multi-line message stays one journal entry', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-jw-'));
    const writer = new JournalWriter(fakeCat(dir).command);
    writer.write('WARNING', 'first\nsecond');
    await writer.close();
    expect(readFileSync(path.join(dir, 'prio4.log'), 'utf8')).toBe('first\\nsecond\n');
  });

  it('a writer that cannot start drops the line and says why', async () => {
    const writer = new JournalWriter(() => ['/nonexistent/systemd-cat']);
    writer.write('INFO', 'lost');
    await new Promise((resolve) => setTimeout(resolve, 100)); // the spawn error arrives asynchronously
    expect(writer.lastError).toMatch(/ENOENT/);
    expect(writer.write('INFO', 'lost too')).toBe(false); // no respawn storm within a second
    expect(writer.dropped).toBe(1);
  });
});

describe('action_log', () => {
  it('writes the rendered message at the configured level (INFO by default)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-jw-'));
    const state = new State({ storage: dir, persist: true });
    state.part('journal-writer', () => new JournalWriter(fakeCat(dir).command));
    const ctx = fakeContext({ state });
    const ban = log.create({ message: 'Ban from SSH for {thatIP}.' }, ctx);
    const recidive = log.create({ message: 'Recidive ban from SSH for {thatIP}.', level: 'NOTICE' }, ctx);
    ban.act({ thatIP: '1.2.3.4' });
    recidive.act({ thatIP: '5.6.7.8' });
    await ban.stop!();
    expect(readFileSync(path.join(dir, 'prio6.log'), 'utf8')).toBe('Ban from SSH for 1.2.3.4.\n');
    expect(readFileSync(path.join(dir, 'prio5.log'), 'utf8')).toBe('Recidive ban from SSH for 5.6.7.8.\n');
  });

  it('in dry-run it describes the entry instead of writing it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-jw-'));
    const effects: string[] = [];
    const state = new State({ storage: dir, persist: false });
    const fake = fakeCat(dir);
    state.part('journal-writer', () => new JournalWriter(fake.command));
    log.create({ message: 'Ban {ip}', level: 'ERR' }, fakeContext({ state, dryRun: true, effect: (e) => effects.push(e), log: memoryLogger() })).act({ ip: '9.9.9.9' });
    expect(effects).toEqual(['would log (PRIORITY=3, SYSLOG_IDENTIFIER=peruse): Ban 9.9.9.9']);
    expect(fake.spawned).toEqual([]);
    expect(existsSync(path.join(dir, 'prio3.log'))).toBe(false);
  });
});
