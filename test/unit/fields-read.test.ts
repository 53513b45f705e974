import { describe, expect, it } from 'vitest';
import { ENGINE_FIELDS, fieldsRead } from '../../src/workflow/program.js';
import { build } from '../helpers/engine.js';

describe('the fields a program reads (only those are decoded from the journal)', () => {
  it('are the fields named by filters, actions and templates, plus what the engine itself reads', async () => {
    const { program } = await build({
      actions: {
        SSH: [
          { filter: 'filter_equals', args: { field: 'SYSLOG_IDENTIFIER', value: 'sshd' } },
          { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^Failed password for (?P<user>\\S+) from (?P<ip>\\S+) port (?P<port>\\d+)', save: [] } },
          { filter: 'filter_inNetworks', args: { field: 'ip', nets: ['10.0.0.0/8'] }, else: 'Ban' },
          { action: 'action_dnatReplace', args: { addr: 'ip', port: 'port', saddrInto: 'ip' } },
        ],
        Ban: [
          { action: 'action_counterRaise', args: { counter: 'ssh', for: 'ip', keepSeconds: 600, save: 'n' } },
          { filter: 'filter_greaterOrEquals', args: { field: 'n', value: 3 } },
          { action: 'action_nftBan', args: { IP: 'ip', nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 ssh_ban', banSeconds: 60 } },
          { action: 'action_email', args: { message: 'Banned {ip} ({user}) on {_HOSTNAME} at {__REALTIME_TIMESTAMP}' } },
          { action: 'action_dailyReport', args: { level: 'WARN', message: '{n:>4d} {ip}@{_HOSTNAME}' } },
        ],
        Kernel: [
          { action: 'action_dnatCapture', args: { saddr: 'SRC', sport: 'SPT', addr: 'DST', addrValue: '10.0.0.1', port: 'DPT' } },
        ],
      },
    });
    expect(program).toBeDefined();
    expect([...fieldsRead(program!)!].sort()).toEqual([...new Set([
      ...ENGINE_FIELDS, 'SYSLOG_IDENTIFIER', 'MESSAGE', 'ip', 'port', 'n', 'user', '_HOSTNAME', '__REALTIME_TIMESTAMP', 'SRC', 'SPT', 'DST', 'DPT',
    ])].sort());
  });

  it('are every field as soon as one step does not say what it reads (a user module)', async () => {
    const { program } = await build({ actions: { A: [{ filter: 'filter_equals', args: { field: 'x', value: 1 } }, { action: 'action_record', args: { tag: 't' } }] } });
    expect(fieldsRead(program!)).toBeUndefined();
  });
});
