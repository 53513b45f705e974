import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalWriter, MAX_GENERATIONS, systemdCat } from '../../src/system/journal-writer.js';
import { isOwnLine } from '../../src/cli/daemon.js';
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
    expect(writer.write('INFO', 'after')).toBe('written');
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
    expect(writer.write('INFO', 'lost too')).toBe('dropped'); // no respawn storm within a second
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

describe('feedback loops through the journal', () => {
  it('a chain that matches its own output writes MAX_GENERATIONS lines, then the loop is broken with a warning', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-jw-'));
    const state = new State({ storage: dir, persist: true });
    const writer = state.part('journal-writer', () => new JournalWriter(fakeCat(dir).command));
    const logger = memoryLogger();
    const echo = log.create({ message: 'seen: {MESSAGE}' }, fakeContext({ state, log: logger, label: 'Echo[1]' }));
    // 20 loops, each started by a line of the world; each written line is read back as the daemon would see it
    for (let seed = 0; seed < 20; seed++) {
      let entry: Record<string, unknown> = { SYSLOG_IDENTIFIER: 'sshd', MESSAGE: `hello ${seed}` };
      for (let hops = 0; writer.loopsBroken === seed; hops++) {
        expect(hops).toBeLessThanOrEqual(MAX_GENERATIONS);
        echo.act(entry);
        entry = { SYSLOG_IDENTIFIER: 'peruse', MESSAGE: `${'seen: '.repeat(hops + 1)}hello ${seed}` };
      }
    }
    await echo.stop!();
    const written = readFileSync(path.join(dir, 'prio6.log'), 'utf8').split('\n').filter(Boolean);
    expect(written).toHaveLength(20 * MAX_GENERATIONS);
    expect(written).toContain(`${'seen: '.repeat(MAX_GENERATIONS)}hello 19`);
    expect(written).not.toContain(`${'seen: '.repeat(MAX_GENERATIONS + 1)}hello 19`);
    const warnings = logger.lines.filter((l) => l.includes('feedback loop broken'));
    expect(warnings[0]).toMatch(/Echo\[1\]: feedback loop broken: "seen: .*hello 0" would descend from 8 lines/);
    // doubling threshold: 20 broken loops, 4 warnings (1st, 3rd, 7th, 15th)
    expect(warnings).toHaveLength(4);
  });

  it('a loop whose lines are not recognised when read back is cut by rate: at most 1000 lines a second caused by peruse lines', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-jw-'));
    const writer = new JournalWriter(fakeCat(dir).command);
    const results = Array.from({ length: 2500 }, (_, i) => writer.write('INFO', `line ${i}`, { SYSLOG_IDENTIFIER: 'peruse', MESSAGE: `changed by journald ${i}` }));
    await writer.close();
    // 2 500 writes take well under a second: at most two seconds' worth get through
    expect(results.filter((r) => r === 'written').length).toBeLessThanOrEqual(2000);
    expect(results.filter((r) => r === 'loop').length).toBeGreaterThanOrEqual(500);
    // lines caused by the world are never limited
    const world = new JournalWriter(fakeCat(dir).command);
    expect(Array.from({ length: 2500 }, () => world.write('INFO', 'ban', { SYSLOG_IDENTIFIER: 'sshd', MESSAGE: 'x' })).every((r) => r === 'written')).toBe(true);
    await world.close();
  });

  it('a line read back with its trailing spaces dropped by journald is still recognised', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-jw-'));
    const writer = new JournalWriter(fakeCat(dir).command);
    let cause: Record<string, unknown> = { SYSLOG_IDENTIFIER: 'sshd', MESSAGE: 'x' };
    const results = [];
    for (let i = 0; i < MAX_GENERATIONS + 1; i++) {
      results.push(writer.write('INFO', `again ${i}  `, cause));
      cause = { SYSLOG_IDENTIFIER: 'peruse', MESSAGE: `again ${i}` };
    }
    await writer.close();
    expect(results.at(-1)).toBe('loop');
    expect(results.filter((r) => r === 'written')).toHaveLength(MAX_GENERATIONS);
  });

  it('stacked recidive levels are not a loop: a line counted from lines of lines is written', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peruse-jw-'));
    const writer = new JournalWriter(fakeCat(dir).command);
    expect(writer.write('INFO', 'Ban 1.2.3.4', { SYSLOG_IDENTIFIER: 'sshd', MESSAGE: 'Failed password' })).toBe('written');
    expect(writer.write('NOTICE', 'Recidive ban 1.2.3.4', { SYSLOG_IDENTIFIER: 'peruse', MESSAGE: 'Ban 1.2.3.4' })).toBe('written');
    expect(writer.write('NOTICE', 'Permanent ban 1.2.3.4', { SYSLOG_IDENTIFIER: 'peruse', MESSAGE: 'Recidive ban 1.2.3.4' })).toBe('written');
    // a line of another program that happens to read the same is the world's: generation 0
    for (let i = 0; i < 20; i++) expect(writer.write('INFO', 'Ban 1.2.3.4', { SYSLOG_IDENTIFIER: 'other', MESSAGE: 'Ban 1.2.3.4' })).toBe('written');
    await writer.close();
    expect(writer.loopsBroken).toBe(0);
  });

  it('the daemon skips only its own diagnostics (its PID on this boot), not what action_log wrote through systemd-cat', () => {
    const diagnostic = { SYSLOG_IDENTIFIER: 'peruse', _BOOT_ID: 'b00t', _PID: 4242, MESSAGE: 'peruse: warn: …' };
    expect(isOwnLine(diagnostic, 'b00t', 4242)).toBe(true);
    expect(isOwnLine({ ...diagnostic, _PID: '4242' }, 'b00t', 4242)).toBe(true);
    expect(isOwnLine({ ...diagnostic, _PID: 4243, MESSAGE: 'Ban from SSH for 1.2.3.4.' }, 'b00t', 4242)).toBe(false);
    expect(isOwnLine({ ...diagnostic, _BOOT_ID: 'earlier' }, 'b00t', 4242)).toBe(false);
  });
});
