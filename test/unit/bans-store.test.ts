import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nftBackend } from '../../src/net/ban-commands.js';
import { BanStore, type BanStoreOptions } from '../../src/state/bans.js';
import { memoryLogger } from '../../src/system/log.js';

const NOW = 1_767_225_600_000_000;

function store(dir: string, extra: Partial<BanStoreOptions> = {}) {
  const log = memoryLogger();
  const s = new BanStore({
    file: path.join(dir, 'bans-nft.json'), pyruseFile: path.join(dir, 'action_nftBan.py.json'),
    persist: true, log, nowMicros: () => NOW, checkSet: nftBackend.checkSet, writeDelayMs: 50, ...extra,
  });
  return Object.assign(s, { log });
}
const tmp = () => mkdtempSync(path.join(tmpdir(), 'peruse-banstore-'));
const readBans = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'bans-nft.json'), 'utf8')) as { bans: { set: string; ip: string; until: number; reason: string }[] }).bans;

describe('ban store', () => {
  it('batches a burst of bans into one write after a short window, not one rewrite per ban', async () => {
    const dir = tmp();
    const s = store(dir);
    for (let i = 0; i < 5000; i++) s.put({ set: 'ip Inet4 ssh_ban', ip: `10.0.${i >> 8}.${i & 255}`, until: NOW + 60e6, reason: 'SSH[3]' });
    expect(existsSync(path.join(dir, 'bans-nft.json'))).toBe(false);
    await new Promise((r) => setTimeout(r, 120));
    expect(readBans(dir)).toHaveLength(5000);
  });

  it('a store of 20 000 bans, written in pieces, is the same JSON document as written whole, in the same order', () => {
    const dir = tmp();
    const s = store(dir);
    const bans = Array.from({ length: 20_000 }, (_, i) => ({ set: i % 2 ? 'ip6 Inet6 ssh_ban' : 'ip Inet4 ssh_ban', ip: i % 2 ? `2001:db8::${i.toString(16)}` : `10.1.${i >> 8}.${i & 255}`, until: i % 7 ? NOW + i * 1e6 : 0, reason: `SSH[${i % 5}] "é"` }));
    for (const ban of bans) s.put(ban);
    s.flush();
    const text = readFileSync(path.join(dir, 'bans-nft.json'), 'utf8');
    expect(text.length).toBeGreaterThan(256 << 10);
    expect(text).toBe(JSON.stringify({ version: 1, bans: bans.map((b) => ({ ...b, until: b.until / 1e6 })) }) + '\n');
  });

  it('writes at once on flush, until in unix seconds (0 = permanent)', () => {
    const dir = tmp();
    const s = store(dir);
    s.put({ set: 'ip Inet4 ssh_ban', ip: '1.2.3.4', until: NOW + 60e6, reason: 'SSH[3]' });
    s.put({ set: 'ip Inet4 ssh_ban', ip: '5.6.7.8', until: 0, reason: 'Recidive[1]' });
    s.flush();
    expect(readBans(dir)).toEqual([
      { set: 'ip Inet4 ssh_ban', ip: '1.2.3.4', until: NOW / 1e6 + 60, reason: 'SSH[3]' },
      { set: 'ip Inet4 ssh_ban', ip: '5.6.7.8', until: 0, reason: 'Recidive[1]' },
    ]);
  });

  it('reads its bans back after a restart', () => {
    const dir = tmp();
    const first = store(dir);
    first.put({ set: 'ip Inet4 ssh_ban', ip: '1.2.3.4', until: NOW + 60e6, reason: 'SSH[3]' });
    first.flush();
    expect(store(dir).get('ip Inet4 ssh_ban', '1.2.3.4')).toEqual({ set: 'ip Inet4 ssh_ban', ip: '1.2.3.4', until: NOW + 60e6, reason: 'SSH[3]' });
  });

  it('drops expired bans when it writes', () => {
    const dir = tmp();
    const s = store(dir);
    s.put({ set: 'ip Inet4 ssh_ban', ip: '1.2.3.4', until: NOW - 1, reason: 'old' });
    s.put({ set: 'ip Inet4 ssh_ban', ip: '5.6.7.8', until: NOW + 1e6, reason: 'new' });
    s.flush();
    expect(readBans(dir).map((b) => b.ip)).toEqual(['5.6.7.8']);
  });

  it('imports Pyruse\'s action_nftBan.py.json on first start: live and permanent bans, not expired or hostile ones', () => {
    const dir = tmp();
    const pyruse = [
      { IP: '37.49.226.159', nfSet: 'ip Inet4 mail_ban', timestamp: NOW / 1e6 + 3600.5 },
      { IP: '2001:DB8::1', nfSet: 'ip6 Inet6 mail_ban', timestamp: 0 },
      { IP: '91.200.12.96', nfSet: 'ip Inet4 mail_ban', timestamp: NOW / 1e6 - 10 },
      { IP: '1.2.3.4;add table ip evil', nfSet: 'ip Inet4 mail_ban', timestamp: 0 },
      { IP: '1.2.3.5', nfSet: 'ip Inet4 mail_ban}; flush ruleset; add element ip Inet4 x {1.1.1.1', timestamp: 0 },
    ];
    writeFileSync(path.join(dir, 'action_nftBan.py.json'), JSON.stringify(pyruse));
    const s = store(dir);
    expect(s.all()).toEqual([
      { set: 'ip Inet4 mail_ban', ip: '37.49.226.159', until: NOW + 3600.5e6, reason: 'imported from Pyruse' },
      { set: 'ip6 Inet6 mail_ban', ip: '2001:db8::1', until: 0, reason: 'imported from Pyruse' },
    ]);
    expect(readBans(dir)).toHaveLength(2);
    expect(JSON.parse(readFileSync(path.join(dir, 'action_nftBan.py.json'), 'utf8'))).toEqual(pyruse);
    expect(s.log.lines.some((l) => l.includes('skipped 2 records'))).toBe(true);
  });

  it('ignores Pyruse\'s file once its own store exists', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'bans-nft.json'), JSON.stringify({ version: 1, bans: [] }));
    writeFileSync(path.join(dir, 'action_nftBan.py.json'), JSON.stringify([{ IP: '1.2.3.4', nfSet: 'ip Inet4 x', timestamp: 0 }]));
    expect(store(dir).all()).toEqual([]);
  });

  it('keeps an unban made by another process (the CLI) instead of writing the address back', () => {
    const dir = tmp();
    const daemon = store(dir);
    daemon.put({ set: 'ip Inet4 ssh_ban', ip: '1.1.1.1', until: 0, reason: 'a' });
    daemon.put({ set: 'ip Inet4 ssh_ban', ip: '2.2.2.2', until: 0, reason: 'b' });
    daemon.flush();
    const cli = store(dir);
    expect(cli.remove('ip Inet4 ssh_ban', '1.1.1.1')).toBe(true);
    cli.flush();
    daemon.put({ set: 'ip Inet4 ssh_ban', ip: '3.3.3.3', until: 0, reason: 'c' });
    daemon.flush();
    expect(readBans(dir).map((b) => b.ip).sort()).toEqual(['2.2.2.2', '3.3.3.3']);
    expect(daemon.get('ip Inet4 ssh_ban', '1.1.1.1')).toBeUndefined();
  });

  it('when its file is truncated, keeps it aside, recovers every complete record and writes them back before any new ban', () => {
    const dir = tmp();
    const whole = JSON.stringify({ version: 1, bans: [
      { set: 'ip Inet4 ssh_ban', ip: '192.0.2.1', until: 0, reason: 'SSH[3]' },
      { set: 'ip Inet4 ssh_ban', ip: '192.0.2.2', until: 0, reason: 'SSH[3]' },
      { set: 'ip Inet4 ssh_ban', ip: '192.0.2.3', until: 0, reason: 'SSH[3]' },
    ] });
    const truncated = whole.slice(0, whole.indexOf('192.0.2.3') + 4);
    writeFileSync(path.join(dir, 'bans-nft.json'), truncated);
    const s = store(dir);
    expect(s.all().map((b) => b.ip)).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(s.damaged?.recovered).toBe(2);
    expect(readFileSync(s.damaged!.keptAs!, 'utf8')).toBe(truncated);
    expect(s.log.lines.some((l) => l.includes('BAN STORE DAMAGED') && l.includes('recovered 2 bans'))).toBe(true);
    // already rewritten with what was recovered; the next ban adds to it
    expect(readBans(dir).map((b) => b.ip)).toEqual(['192.0.2.1', '192.0.2.2']);
    s.put({ set: 'ip Inet4 ssh_ban', ip: '192.0.2.9', until: 0, reason: 'SSH[3]' });
    s.flush();
    expect(readBans(dir).map((b) => b.ip).sort()).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.9']);
  });

  it('when its file has the wrong shape, keeps it aside instead of starting over it', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'bans-nft.json'), '{"version":1,"bans":{"oops":true}}');
    const s = store(dir);
    expect(s.all()).toEqual([]);
    expect(s.damaged?.reason).toMatch(/"bans" list/);
    expect(readFileSync(s.damaged!.keptAs!, 'utf8')).toBe('{"version":1,"bans":{"oops":true}}');
  });

  it('writes nothing when not persisting', () => {
    const dir = tmp();
    const s = store(dir, { persist: false });
    s.put({ set: 'ip Inet4 ssh_ban', ip: '1.2.3.4', until: 0, reason: 'x' });
    s.flush();
    expect(existsSync(path.join(dir, 'bans-nft.json'))).toBe(false);
  });
});
