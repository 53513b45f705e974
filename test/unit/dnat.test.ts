import { describe, expect, it } from 'vitest';
import { DnatTable, lifetimeBits } from '../../src/state/dnat.js';
import { build, run } from '../helpers/engine.js';

const S = 1_000_000;
const v = (saddr: string, addr: string, port?: string) => ({ saddr, sport: undefined, addr, port, daddr: undefined, dport: undefined });

describe('DNAT table', () => {
  it('rounds keepSeconds up to the next power of two as Pyruse does: 4 to 7 give 8, 63 gives 64, 64 gives 128', () => {
    expect([1, 2, 3, 4, 5, 7, 8, 63, 64, 65].map((k) => 2 ** lifetimeBits(k))).toEqual([2, 4, 4, 8, 8, 8, 16, 64, 128, 128]);
  });

  it('keeps a mapping while floor(now/2^b) <= floor(t/2^b) + 1, and no longer', () => {
    const table = new DnatTable();
    const index = table.index(['addr', 'port']);
    table.capture(v('1.1.1.1', '10.0.0.1', '4000'), 130 * S, 6); // bucket floor(130/64) = 2
    const key = index.keyOf({ addr: '10.0.0.1', port: '4000', daddr: undefined, dport: undefined })!;
    expect(index.lookup(key, 191 * S)?.saddr).toBe('1.1.1.1'); // bucket 2
    expect(index.lookup(key, 255 * S)?.saddr).toBe('1.1.1.1'); // bucket 3 = 2 + 1
    expect(index.lookup(key, 256 * S)).toBeUndefined(); // bucket 4
  });

  it('when several live mappings match, the newest wins', () => {
    const table = new DnatTable();
    const index = table.index(['addr']);
    table.capture(v('1.1.1.1', '10.0.0.1'), 0, 6);
    table.capture(v('2.2.2.2', '10.0.0.1'), 5 * S, 6);
    expect(index.lookup('10.0.0.1', 6 * S)?.saddr).toBe('2.2.2.2');
  });

  it('dropping an old bucket keeps the newer mapping that took over its key', () => {
    const table = new DnatTable();
    const index = table.index(['addr']);
    table.capture(v('1.1.1.1', '10.0.0.1'), 0, 0);
    table.capture(v('2.2.2.2', '10.0.0.1'), 1.5 * S, 0);
    table.capture(v('3.3.3.3', '10.9.9.9'), 2.5 * S, 0); // drops bucket 0
    expect(index.lookup('10.0.0.1', 2.5 * S)?.saddr).toBe('2.2.2.2');
  });

  it('each set of match fields has its own index, filled by every capture', () => {
    const table = new DnatTable();
    const byAddr = table.index(['addr']);
    const byAddrPort = table.index(['port', 'addr']); // order does not matter
    expect(table.index(['addr', 'port'])).toBe(byAddrPort);
    table.capture(v('1.1.1.1', '10.0.0.1', '4000'), 0, 6);
    table.capture(v('2.2.2.2', '10.0.0.1', '5000'), 1, 6);
    expect(byAddr.lookup('10.0.0.1', 2)?.saddr).toBe('2.2.2.2');
    expect(byAddrPort.lookup(byAddrPort.keyOf({ addr: '10.0.0.1', port: '4000', daddr: undefined, dport: undefined })!, 2)?.saddr).toBe('1.1.1.1');
  });

  it('expired mappings leave memory as time passes, and the cap evicts the oldest', () => {
    const table = new DnatTable();
    table.index(['addr', 'port']);
    for (let i = 0; i < 1000; i++) table.capture(v(`1.1.${i >> 8}.${i & 255}`, '10.0.0.1', String(i)), i * 1000, 6);
    expect(table.size).toBe(1000);
    table.capture(v('9.9.9.9', '10.0.0.1', '1'), 1000 * S, 6);
    expect(table.size).toBe(1);
    const capped = new DnatTable();
    const index = capped.index(['port']);
    capped.limitMappings(2);
    for (const port of ['1', '2', '3']) capped.capture(v('1.1.1.' + port, '10.0.0.1', port), Number(port), 6);
    expect(capped.size).toBe(2);
    expect(index.lookup('1', 10)).toBeUndefined();
    expect(index.lookup('3', 10)?.saddr).toBe('1.1.1.3');
  });

  it('with 200 000 live mappings, every lookup finds its own', () => {
    const table = new DnatTable();
    const index = table.index(['addr', 'port']);
    for (let i = 0; i < 200_000; i++) table.capture(v(`203.0.${i >> 8}.${i & 255}`, '10.0.0.1', String(i)), i * 100, 10);
    let found = 0;
    for (let i = 0; i < 200_000; i++) if (index.lookup(`10.0.0.1\u0000${i}`, 200_000 * 100)?.saddr === `203.0.${i >> 8}.${i & 255}`) found++;
    expect(found).toBe(200_000);
    // the cost per capture and lookup whatever the number of mappings: `npm run bench`, rows state.*
  });

  it('a snapshot restores the live mappings only', () => {
    const table = new DnatTable();
    table.index(['addr']);
    table.capture(v('1.1.1.1', '10.0.0.1'), 0, 6);
    table.capture(v('2.2.2.2', '10.0.0.2'), 100 * S, 6);
    const restored = new DnatTable();
    const index = restored.index(['addr']);
    restored.restore(JSON.parse(JSON.stringify(table.snapshot())), 150 * S);
    expect(restored.size).toBe(1);
    expect(index.lookup('10.0.0.2', 150 * S)?.saddr).toBe('2.2.2.2');
    expect(index.lookup('10.0.0.1', 150 * S)).toBeUndefined();
  });
});

// the seed document's own example (dnat.md)
const seedConfig = {
  actions: {
    Capture: [
      { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: 'kernel' } },
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^DNAT/ssh:.* SRC=([^ ]+) DST=([^ ]+) .* SPT=([^ ]+) DPT=([^ ]+) ', save: ['dnatSaddr', 'dnatAddr', 'dnatPort', 'dnatDport'] } },
      { action: 'action_dnatCapture', args: { saddr: 'dnatSaddr', addr: 'dnatAddr', addrValue: '127.0.0.1', port: 'dnatPort', dport: 'dnatDport', dportValue: '22' } },
    ],
    SSH: [
      { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: 'sshd' } },
      { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for (.*) from ([^ ]+) port ([^ ]+) ssh2$', save: ['sshUser', 'clientIP', 'clientPort'] } },
      { action: 'action_dnatReplace', args: { addr: 'clientIP', port: 'clientPort', saddrInto: 'clientIP' } },
      { action: 'action_email', args: { message: 'SSH attack from {clientIP} on {sshUser}@{_HOSTNAME}.' } },
    ],
  },
};
const T0 = 1_767_225_600 * S;
const kernel = (t: number) => ({ __REALTIME_TIMESTAMP: t, _HOSTNAME: 'dmz', SYSLOG_IDENTIFIER: 'kernel', MESSAGE: 'DNAT/ssh: IN=eth0 OUT=eth1 SRC=12.34.56.78 DST=10.0.0.1 LEN=60 PROTO=TCP SPT=43210 DPT=22 WINDOW=64240 ' });
const sshd = (t: number, host: string, user: string, ip: string, port: number) => ({ __REALTIME_TIMESTAMP: t, _HOSTNAME: host, SYSLOG_IDENTIFIER: 'sshd', _SYSTEMD_UNIT: 'sshd.service', MESSAGE: `Failed password for ${user} from ${ip} port ${port} ssh2` });

describe('action_dnatCapture and action_dnatReplace', () => {
  it('the seed example: the sshserv failure names the real client, the dmz one is left alone', async () => {
    const { program, issues } = await build(seedConfig);
    expect(issues).toEqual([]);
    const behindProxy = sshd(T0 + 0.2 * S, 'sshserv', 'ME', '10.0.0.1', 43210);
    const direct = sshd(T0 + 0.3 * S, 'dmz', 'KeyUser', '87.65.43.21', 24680);
    for (const e of [kernel(T0), behindProxy, direct]) await run(program!, e);
    expect(behindProxy.clientIP).toBe('12.34.56.78');
    expect(direct.clientIP).toBe('87.65.43.21');
  });

  it('when the capture expired, the proxy address is kept', async () => {
    const { program } = await build(seedConfig);
    const late = sshd(T0 + 400 * S, 'sshserv', 'ME', '10.0.0.1', 43210);
    await run(program!, kernel(T0));
    await run(program!, late);
    expect(late.clientIP).toBe('10.0.0.1');
  });

  it('a keepSeconds of 64 keeps the mapping in 128 s buckets, as Pyruse does', async () => {
    const config = { actions: {
      C: [{ filter: 'filter_equals', args: { field: 'k', value: 1 } }, { action: 'action_dnatCapture', args: { saddr: 's', addr: 'a', keepSeconds: 64 } }],
      R: [{ action: 'action_dnatReplace', args: { addr: 'a', saddrInto: 'a' } }],
    } };
    const { program } = await build(config);
    // captured at 0 s (bucket 0 of 128 s): still known at 255 s (bucket 1), gone at 256 s
    await run(program!, { k: 1, s: '12.34.56.78', a: '10.0.0.1', __REALTIME_TIMESTAMP: 0 });
    const kept = { a: '10.0.0.1', __REALTIME_TIMESTAMP: 255 * S };
    const gone = { a: '10.0.0.1', __REALTIME_TIMESTAMP: 256 * S };
    await run(program!, kept);
    await run(program!, gone);
    expect(kept.a).toBe('12.34.56.78');
    expect(gone.a).toBe('10.0.0.1');
  });

  it('an entry lacking a match field is left unchanged', async () => {
    const { program } = await build({ actions: { C: [
      { action: 'action_dnatCapture', args: { saddr: 's', addrValue: '10.0.0.1', port: 'p' } },
    ], R: [{ action: 'action_dnatReplace', args: { addr: 'a', port: 'p', saddrInto: 'a' } }] } });
    // capture with a constant addr; a replace entry without "p" must not be touched
    const entry: Record<string, unknown> = { a: '10.0.0.1', __REALTIME_TIMESTAMP: 1 };
    await run(program!, { s: '5.5.5.5', p: '1', __REALTIME_TIMESTAMP: 0 });
    await run(program!, entry);
    expect(entry).toEqual({ a: '10.0.0.1', __REALTIME_TIMESTAMP: 1 });
  });

  it('a field reference wins over the …Value default, which applies when the field is missing', async () => {
    const { program } = await build({ actions: {
      C: [{ filter: 'filter_equals', args: { field: 'kind', value: 'cap' } }, { action: 'action_dnatCapture', args: { saddr: 's', sport: 'sp', addr: 'a', addrValue: '127.0.0.1' } }],
      R: [{ action: 'action_dnatReplace', args: { addr: 'a', saddrInto: 'real', sportInto: 'realPort' } }] } });
    await run(program!, { kind: 'cap', s: '1.1.1.1', sp: '999', a: '10.0.0.7', __REALTIME_TIMESTAMP: 0 });
    await run(program!, { kind: 'cap', s: '2.2.2.2', __REALTIME_TIMESTAMP: 1 });
    const viaField: Record<string, unknown> = { a: '10.0.0.7', __REALTIME_TIMESTAMP: 2 };
    const viaDefault: Record<string, unknown> = { a: '127.0.0.1', __REALTIME_TIMESTAMP: 2 };
    await run(program!, viaField);
    await run(program!, viaDefault);
    expect([viaField.real, viaField.realPort]).toEqual(['1.1.1.1', '999']);
    expect([viaDefault.real, viaDefault.realPort]).toEqual(['2.2.2.2', undefined]);
  });

  it('invalid arguments are config errors at the argument path', async () => {
    const { issues } = await build({ actions: { X: [
      { action: 'action_dnatCapture', args: { saddr: 's' } },
      { action: 'action_dnatReplace', args: { saddrInto: 'x' } },
      { action: 'action_dnatReplace', args: { addr: 'a' } },
      { action: 'action_dnatCapture', args: { addr: 'a' } },
    ] } });
    const summary = issues.map((i) => `${i.code} ${i.path.join('/')} ${i.message}`);
    expect(summary).toEqual([
      expect.stringMatching(/^E_BAD_ARGS actions\/X\/0\/args\/addr .*"addr" or "addrValue"/),
      expect.stringMatching(/^E_BAD_ARGS actions\/X\/1\/args\/addr .*at least one of "addr"/),
      expect.stringMatching(/^E_BAD_ARGS actions\/X\/2\/args\/saddrInto .*"saddrInto" or "sportInto"/),
      expect.stringMatching(/^E_BAD_ARGS actions\/X\/3\/args.*saddr/),
    ]);
  });
});
