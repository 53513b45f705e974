import { describe, it, expect } from 'vitest';
import { eduvpnNetworks } from '../../src/natfw/eduvpn.js';
import { parseTraceTime } from '../../src/natfw/time.js';
import { connectionsAt, parseConnectionLog } from '../../src/natfw/connections.js';
import { NatfwInputError } from '../../src/natfw/ipv4.js';

describe('eduVPN input', () => {
  it('splits oRangeFour into one subnet per OpenVPN process and takes wRangeFour whole', () => {
    const dump = { ProfileList: [
      { profileId: 'employees', oRangeFour: '10.10.0.0/24', oUdpPortList: [1194, 1195, 1196], oTcpPortList: [1194], wRangeFour: '10.20.0.0/24' },
      { profileId: 'students', oRangeFour: '10.30.0.0/24', oUdpPortList: [], oTcpPortList: [], wRangeFour: '10.40.0.0/25' },
    ] };
    expect(eduvpnNetworks(dump).map((n) => n.network.text)).toEqual([
      '10.10.0.0/26', '10.10.0.64/26', '10.10.0.128/26', '10.10.0.192/26', '10.20.0.0/24', '10.40.0.0/25',
    ]);
  });

  it('uses the default 1194/udp + 1194/tcp, protoList, and the node entry of a multi-node range', () => {
    const dump = [{ profileId: 'x', protoList: ['openvpn'], oRangeFour: ['10.0.0.0/24', '10.1.0.0/24'], wRangeFour: '10.9.0.0/24' }];
    expect(eduvpnNetworks(dump, 1).map((n) => n.network.text)).toEqual(['10.1.0.0/25', '10.1.0.128/25']);
  });

  it('reads an eduVPN 2 vpnProfiles dump (range split by vpnProtoPorts)', () => {
    const dump = { vpnProfiles: { internet: { range: '192.168.101.0/24', vpnProtoPorts: ['udp/1194', 'tcp/1194'] } } };
    expect(eduvpnNetworks(dump).map((n) => n.network.text)).toEqual(['192.168.101.0/25', '192.168.101.128/25']);
  });

  it('refuses a process count eduVPN cannot split evenly', () => {
    expect(() => eduvpnNetworks([{ oRangeFour: '10.0.0.0/24', oUdpPortList: [1, 2], oTcpPortList: [3] }])).toThrow(/power of two/);
  });
});

describe('trace times', () => {
  it('reads unix seconds, milliseconds and ISO-8601 with a zone', () => {
    expect(parseTraceTime('1700003600')).toBe(1700003600_000);
    expect(parseTraceTime('1700003600.25')).toBe(1700003600_250);
    expect(parseTraceTime('1700003600123')).toBe(1700003600_123);
    expect(parseTraceTime('2023-11-14T23:13:20Z')).toBe(1700003600_000);
    expect(parseTraceTime('2023-11-15T00:13:20+01:00')).toBe(1700003600_000);
    expect(parseTraceTime('2023-11-15 00:13:20.5 +0100')).toBe(1700003600_500);
  });

  it('refuses a naive local time unless a zone is named, then converts it with DST', () => {
    expect(() => parseTraceTime('2020-12-26 13:37:42')).toThrow(NatfwInputError);
    expect(parseTraceTime('2020-12-26 13:37:42', 'Europe/Amsterdam')).toBe(Date.parse('2020-12-26T12:37:42Z'));
    expect(parseTraceTime('2021-07-01T13:37:42', 'Europe/Amsterdam')).toBe(Date.parse('2021-07-01T11:37:42Z'));
    expect(() => parseTraceTime('2021-07-01T13:37:42', 'Mars/Olympus')).toThrow(/zone/);
  });
});

describe('connection log join', () => {
  const log = [
    '2023-11-14T22:00:00+00:00 vpn vpn-user-portal[1]: CONNECT alice (employees:conn-a) [198.51.100.7 => 10.10.0.2,fd00::2]',
    '2023-11-14T22:30:00+00:00 vpn vpn-user-portal[1]: DISCONNECT alice (employees:conn-a)',
    '{"__REALTIME_TIMESTAMP":"1700001900000000","MESSAGE":"CONNECT bob (employees:conn-b) [203.0.113.9 => 10.10.0.2,fd00::2]"}',
    '2023-11-14 22:00:00 vpn naive: CONNECT mallory (x:y) [1.1.1.1 => 10.10.0.2,fd00::2]',
  ].join('\n');
  const events = parseConnectionLog(log);

  it('names the user whose connection held the internal address at that time, pairing DISCONNECT by connection id', () => {
    expect(connectionsAt(events, '10.10.0.2', Date.parse('2023-11-14T22:10:00Z')).map((c) => c.user)).toEqual(['alice']);
    expect(connectionsAt(events, '10.10.0.2', Date.parse('2023-11-14T22:50:00Z'))).toMatchObject([
      { user: 'bob', profile: 'employees', connection: 'conn-b', originatingIp: '203.0.113.9' },
    ]);
    expect(connectionsAt(events, '10.10.0.3', Date.parse('2023-11-14T22:40:00Z'))).toEqual([]);
  });

  it('skips lines whose time has no zone instead of guessing', () => {
    expect(events.map((e) => e.user)).not.toContain('mallory');
  });
});
