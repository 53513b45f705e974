import { describe, it, expect, vi, afterEach } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import action from '../../actions/action_natfwTrace.js';
import type { ModuleContext, Entry } from '../../src/modules/api.js';

function context(warnings: string[] = []): ModuleContext {
  return {
    path: 'actions["Abuse"][1]', label: 'Abuse[1]', dryRun: false, warn: () => {},
    clock: { nowMicros: () => 0 },
    log: { debug() {}, info() {}, notice() {}, warn: (m: string) => warnings.push(m), error() {} },
  } as unknown as ModuleContext;
}

function archive(): string {
  const dir = mkdtempSync(join(tmpdir(), 'natfw-action-'));
  writeFileSync(join(dir, 'rules.v4.1700000000'), [
    '-A POSTROUTING -s 192.168.101.2 -p tcp -j SNAT --to-source 192.0.2.1:65408-65535',
    '-A POSTROUTING -s 192.168.101.2 -p udp -j SNAT --to-source 192.0.2.1:65408-65535',
  ].join('\n'));
  return dir;
}

const args = { publicIpField: 'natIp', portField: 'natPort', into: 'vpnClient' };
const at = (seconds: number): number => seconds * 1_000_000;

afterEach(() => vi.useRealTimers());

describe('action_natfwTrace', () => {
  it('writes the internal address and status found into an abuse-report entry', async () => {
    const dir = archive();
    try {
      const step = action.create({ ...args, archiveDir: dir }, context());
      const entry: Entry = { __REALTIME_TIMESTAMP: at(1700000100), natIp: '192.0.2.1', natPort: '65500' };
      await step.act(entry);
      expect(entry).toMatchObject({ vpnClient: '192.168.101.2', natfwStatus: 'found' });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('reads a time field in ISO-8601, a numeric protocol, an IPv4-mapped address and a custom status field', async () => {
    const dir = archive();
    try {
      const step = action.create({ ...args, archiveDir: [dir], timeField: 'reportedAt', protocolField: 'proto', statusField: 's' }, context());
      const entry: Entry = { reportedAt: '2023-11-14T23:15:00+01:00', natIp: '::ffff:192.0.2.1', natPort: 65409, proto: 17 };
      await step.act(entry);
      expect(entry).toMatchObject({ vpnClient: '192.168.101.2', s: 'found' });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('never overwrites an existing value and never throws on a bad entry', async () => {
    const dir = archive();
    try {
      const step = action.create({ ...args, archiveDir: dir }, context());
      const kept: Entry = { __REALTIME_TIMESTAMP: at(1700000100), natIp: '192.0.2.1', natPort: 65500, vpnClient: 'already' };
      await step.act(kept);
      expect(kept.vpnClient).toBe('already');
      for (const bad of [{ natIp: 'nonsense', natPort: 1 }, { natIp: '192.0.2.1', natPort: 'x' }, { natIp: '192.0.2.1' },
        { natIp: '2001:db8::1', natPort: 1 }, { natIp: '192.0.2.1', natPort: 70000 }]) {
        const entry: Entry = { __REALTIME_TIMESTAMP: at(1700000100), ...bad };
        expect(() => step.act(entry)).not.toThrow();
        expect(entry).toMatchObject({ natfwStatus: 'invalid-input' });
        expect(entry.vpnClient).toBeUndefined();
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('sets the miss statuses and leaves the address field empty', async () => {
    const dir = archive();
    try {
      const step = action.create({ ...args, archiveDir: dir, defaultProtocol: 'icmp' }, context());
      const cases: [Entry, string][] = [
        [{ __REALTIME_TIMESTAMP: at(1690000000), natIp: '192.0.2.1', natPort: 65500 }, 'no-archive'],
        [{ __REALTIME_TIMESTAMP: at(1700000100), natIp: '192.0.2.1', natPort: 65500 }, 'protocol-not-port-mapped'],
        [{ __REALTIME_TIMESTAMP: at(1700000100), natIp: '192.0.2.9', natPort: 65500 }, 'unknown-public-ip'],
      ];
      for (const [entry, expected] of cases) {
        await step.act(entry);
        expect([entry.natfwStatus, entry.vpnClient]).toEqual([expected, undefined]);
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('reads nothing when declared, and picks up a newer activation without a restart', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const dir = mkdtempSync(join(tmpdir(), 'natfw-action-'));
    try {
      const step = action.create({ ...args, archiveDir: dir }, context());
      const first: Entry = { __REALTIME_TIMESTAMP: at(1700000100), natIp: '192.0.2.1', natPort: 65500 };
      await step.act(first);
      expect(first.natfwStatus).toBe('no-archive');
      writeFileSync(join(dir, 'rules.v4.1700000000'), '-A POSTROUTING -s 10.0.0.7/32 -p tcp -j SNAT --to-source 192.0.2.1:65000-65535\n');
      vi.setSystemTime(Date.now() + 5000);
      const second: Entry = { __REALTIME_TIMESTAMP: at(1700000100), natIp: '192.0.2.1', natPort: 65500 };
      await step.act(second);
      expect(second).toMatchObject({ natfwStatus: 'found', vpnClient: '10.0.0.7' });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('an unreadable archive gives archive-error and one warning, not an exception', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natfw-action-'));
    const warnings: string[] = [];
    try {
      writeFileSync(join(dir, 'natfw-1700000000000.json'), '{ broken');
      const step = action.create({ ...args, archiveDir: dir }, context(warnings));
      for (let i = 0; i < 3; i++) {
        const entry: Entry = { __REALTIME_TIMESTAMP: at(1700000100), natIp: '192.0.2.1', natPort: 65500 };
        await step.act(entry);
        expect(entry.natfwStatus).toBe('archive-error');
      }
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('Abuse[1]');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
