import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resumeFromCheckpoint, saveCheckpoint } from '../../src/state/persist.js';
import { memoryLogger } from '../../src/system/log.js';
import { SessionMemory, SessionStore, sessionKeyOf } from '../../src/state/sessions.js';
import { State } from '../../src/state/state.js';
import { build, run } from '../helpers/engine.js';

const S = 1_000_000;

describe('session memory', () => {
  it('a session remembers fields until keepSeconds after its last entry (event time), newer values winning', () => {
    const memory = new SessionMemory(() => 100);
    memory.remember('sshd 812', { host: '192.0.2.1' }, 0, 60 * S);
    memory.remember('sshd 812', { user: 'root' }, 50 * S, 60 * S);
    expect(memory.recall('sshd 812', 100 * S)).toEqual({ host: '192.0.2.1', user: 'root' });
    expect(memory.recall('sshd 812', 111 * S)).toBeUndefined();
    expect(memory.size).toBe(0);
  });

  it('the cap forgets the least recently written session', () => {
    const memory = new SessionMemory(() => 2);
    memory.remember('a', { host: '1' }, 0, 600 * S);
    memory.remember('b', { host: '2' }, 1, 600 * S);
    memory.remember('a', { host: '3' }, 2, 600 * S);
    memory.remember('c', { host: '4' }, 3, 600 * S);
    expect(memory.recall('b', 4)).toBeUndefined();
    expect(memory.recall('a', 4)).toEqual({ host: '3' });
    expect(memory.size).toBe(2);
  });

  it('after thousands of writes to one session (its eviction order compacted), the cap still forgets the least recently written one', () => {
    const memory = new SessionMemory(() => 3);
    const keep = 600 * S;
    ['a', 'b', 'c'].forEach((key, t) => memory.remember(key, { host: key }, t, keep));
    for (let t = 3; t < 5003; t++) memory.remember('a', { host: `a${t}` }, t, keep);
    memory.remember('d', { host: 'd' }, 6000, keep);
    memory.remember('e', { host: 'e' }, 6001, keep);
    expect(['a', 'b', 'c', 'd', 'e'].filter((key) => memory.recall(key, 6002) !== undefined)).toEqual(['a', 'd', 'e']);
    expect(memory.recall('a', 6002)).toEqual({ host: 'a5002' });
  });

  it('forget ends a session at once', () => {
    const memory = new SessionMemory(() => 10);
    memory.remember('a', { host: '1' }, 0, 600 * S);
    memory.forget('a', 1);
    expect(memory.recall('a', 2)).toBeUndefined();
  });

  it('sessions are saved with the state and restored without those that expired meanwhile', () => {
    const storage = mkdtempSync(path.join(tmpdir(), 'peruse-sessions-'));
    const state = new State({ storage, persist: true });
    state.sessions.memory('sshd').remember('812', { host: '192.0.2.1' }, 0, 600 * S);
    state.sessions.memory('sshd').remember('813', { host: '192.0.2.2' }, 500 * S, 600 * S);
    saveCheckpoint(state, 'cursor', 500 * S);
    const restored = new State({ storage, persist: true });
    void restored.sessions; // the part exists once a step asks for it, as in the daemon
    expect(resumeFromCheckpoint(restored, memoryLogger(), 700 * S)?.cursor).toBe('cursor');
    expect(restored.sessions.memory('sshd').recall('812', 700 * S)).toBeUndefined();
    expect(restored.sessions.memory('sshd').recall('813', 700 * S)).toEqual({ host: '192.0.2.2' });
    expect(restored.sessions.memory('sshd').recall('813', 1101 * S)).toBeUndefined();
  });

  it('a corrupt saved session is skipped, not restored', () => {
    const store = new SessionStore();
    store.restore({ sshd: [['812', { host: 'x' }, 10 * S], ['bad'], 'junk', [1, 2, 3]] }, 0);
    expect(store.memory('sshd').size).toBe(1);
  });

  it('the key joins several fields and reads a missing one as empty', () => {
    expect(sessionKeyOf({ _HOSTNAME: 'gate', _PID: 812 }, ['_HOSTNAME', '_PID'])).toBe('gate\u001f812');
    expect(sessionKeyOf({ _PID: 812 }, ['_HOSTNAME', '_PID'])).toBe('\u001f812');
  });
});

describe('action_sessionRemember, action_sessionRecall, action_sessionForget', () => {
  const config = {
    actions: {
      Connect: [
        { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Connection from (?P<host>\\S+)' } },
        { action: 'action_sessionRemember', args: { session: 'ssh', key: ['_HOSTNAME', '_PID'], fields: ['host'], keepSeconds: 600 } },
      ],
      Failure: [
        { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Too many authentication failures' } },
        { action: 'action_sessionRecall', args: { session: 'ssh', key: ['_HOSTNAME', '_PID'] } },
        { action: 'action_counterRaise', args: { counter: 'ssh', for: 'host', by: 3, save: 'failures' } },
      ],
      Close: [
        { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Disconnected' } },
        { action: 'action_sessionForget', args: { session: 'ssh', key: ['_HOSTNAME', '_PID'] } },
      ],
    },
  };
  const entry = (pid: number, message: string, seconds: number): Record<string, unknown> =>
    ({ _HOSTNAME: 'gate', _PID: pid, MESSAGE: message, __REALTIME_TIMESTAMP: seconds * S });

  it('a line without address gets the one of its session and raises the counter by three', async () => {
    const { program, issues } = await build(config);
    expect(issues).toEqual([]);
    await run(program!, entry(812, 'Connection from 192.0.2.7 port 40000', 0));
    await run(program!, entry(813, 'Connection from 192.0.2.8 port 40001', 1));
    const failure = entry(812, 'Too many authentication failures for root', 2);
    await run(program!, failure);
    expect(failure.host).toBe('192.0.2.7');
    expect(failure.failures).toBe(3);
  });

  it('after the session ended, or expired, its address is no longer given', async () => {
    const { program } = await build(config);
    await run(program!, entry(812, 'Connection from 192.0.2.7 port 40000', 0));
    await run(program!, entry(812, 'Disconnected from 192.0.2.7', 1));
    const afterEnd = entry(812, 'Too many authentication failures for root', 2);
    await run(program!, afterEnd);
    expect(afterEnd.host).toBeUndefined();
    // counted under None (Pyruse's key for a missing field), not for the ended session's address
    await run(program!, entry(812, 'Connection from 192.0.2.7 port 40002', 3));
    const nextSession = entry(812, 'Too many authentication failures for root', 4);
    await run(program!, nextSession);
    expect([afterEnd.failures, nextSession.host, nextSession.failures]).toEqual([3, '192.0.2.7', 3]);
    await run(program!, entry(900, 'Connection from 192.0.2.9 port 40000', 10));
    const late = entry(900, 'Too many authentication failures for root', 611);
    await run(program!, late);
    expect(late.host).toBeUndefined();
  });

  it('limits.sessionKeys caps the sessions remembered', async () => {
    const { program } = await build({ ...config, limits: { sessionKeys: 1 } });
    await run(program!, entry(1, 'Connection from 192.0.2.1 port 1', 0));
    await run(program!, entry(2, 'Connection from 192.0.2.2 port 2', 1));
    const first = entry(1, 'Too many authentication failures', 2);
    await run(program!, first);
    expect(first.host).toBeUndefined();
  });

  it('counterRaise takes the amount from a field with byField, and refuses by and byField together', async () => {
    const { program } = await build({ actions: { R: [{ action: 'action_counterRaise', args: { counter: 'c', for: 'ip', byField: 'n', save: 'v' } }] } });
    const e1 = { ip: 'a', n: '4', __REALTIME_TIMESTAMP: 0 } as Record<string, unknown>;
    const e2 = { ip: 'a', n: 2, __REALTIME_TIMESTAMP: 1 } as Record<string, unknown>;
    const e3 = { ip: 'a', n: 'lots', __REALTIME_TIMESTAMP: 2 } as Record<string, unknown>;
    for (const e of [e1, e2, e3]) await run(program!, e);
    expect([e1.v, e2.v, e3.v]).toEqual([4, 6, 7]);
    const both = await build({ actions: { R: [{ action: 'action_counterRaise', args: { counter: 'c', for: 'ip', by: 2, byField: 'n' } }] } });
    expect(both.issues.map((i) => i.code)).toContain('E_BAD_ARGS');
  });
});
