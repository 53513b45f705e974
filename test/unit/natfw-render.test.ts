import { describe, it, expect } from 'vitest';
import { allocate } from '../../src/natfw/allocate.js';
import { parseIpv4, parseIpv4Network } from '../../src/natfw/ipv4.js';
import { catchAllRanges, rangeToCidrs, renderIptablesChain, renderIptablesTable, renderNft } from '../../src/natfw/render.js';
import { parseLegacyRules } from '../../src/natfw/legacy.js';

const blocks = allocate({
  networks: [parseIpv4Network('192.168.101.0/24')], gatewaySkip: 1, publics: [parseIpv4('192.0.2.1')!],
  portRange: { lo: 1024, hi: 65535 }, exclusions: [{ lo: 32768, hi: 60999 }], align: 'none', minBlock: 64, compat: false,
}).blocks();
const input = { blocks, outIface: 'eth0', summary: 'test' };

describe('nft rendering', () => {
  const text = renderNft(input);

  it('swaps one table atomically: declare, delete, recreate in one file', () => {
    expect(text).toMatch(/^table ip peruse_natfw\ndelete table ip peruse_natfw\ntable ip peruse_natfw \{$/m);
  });

  it('maps every host to its public address and block in a named interval map', () => {
    expect(text).toContain('type ipv4_addr : interval ipv4_addr . inet_service');
    expect(text).toContain('192.168.101.2 : 192.0.2.1 . 65394-65535');
    expect(text).toContain('192.168.101.254 : 192.0.2.1 . 1244-1385');
    expect(text.match(/ : 192\.0\.2\.1 \. \d+-\d+/g)).toHaveLength(253);
  });

  it('confines tcp, udp and icmp to the blocks on the external interface only, before the default masquerade', () => {
    expect(text).toContain('type nat hook postrouting priority srcnat - 10; policy accept;');
    expect(text).toContain('oifname "eth0" meta l4proto { tcp, udp, icmp } snat ip to ip saddr map @ports4');
  });

  it('sends other protocols through a port-less catch-all map with merged ranges', () => {
    expect(text).toContain('oifname "eth0" snat ip to ip saddr map @addrs4');
    expect(text).toContain('192.168.101.2-192.168.101.254 : 192.0.2.1');
  });

  it('renders identically for identical allocations (no timestamp inside)', () => {
    expect(renderNft(input)).toBe(text);
  });
});

describe('iptables renderings', () => {
  it('iptables-chain fills only the NATFW chain and never a filter table', () => {
    const text = renderIptablesChain(input);
    expect(text).toContain(':NATFW - [0:0]');
    expect(text).toContain('-A NATFW -s 192.168.101.2/32 -o eth0 -p icmp -j SNAT --to-source 192.0.2.1:65394-65535');
    expect(text).not.toContain('*filter');
    expect(text).not.toContain('POSTROUTING ACCEPT');
    expect(text.match(/^COMMIT$/gm)).toHaveLength(1);
  });

  it('iptables-table keeps the eduVPN layout of a whole nat table, without *filter', () => {
    const text = renderIptablesTable(input);
    expect(text).toContain(':POSTROUTING ACCEPT [0:0]');
    expect(text).toContain('-A POSTROUTING -s 192.168.101.2/32 -o eth0 -p tcp -j SNAT --to-source 192.0.2.1:65394-65535');
    expect(text).not.toContain('*filter');
  });

  it('is read back by the legacy parser into the same blocks, for every protocol', () => {
    const parsed = parseLegacyRules(renderIptablesTable(input));
    for (const protocol of ['tcp', 'udp', 'icmp'] as const) expect(parsed.blocksByProtocol.get(protocol)).toEqual(blocks);
  });

  it('covers a host range with the fewest CIDRs for the catch-all', () => {
    expect(rangeToCidrs(parseIpv4('192.168.101.2')!, parseIpv4('192.168.101.254')!))
      .toEqual(['192.168.101.2/31', '192.168.101.4/30', '192.168.101.8/29', '192.168.101.16/28', '192.168.101.32/27',
        '192.168.101.64/26', '192.168.101.128/26', '192.168.101.192/27', '192.168.101.224/28', '192.168.101.240/29',
        '192.168.101.248/30', '192.168.101.252/31', '192.168.101.254/32']);
    expect(catchAllRanges([
      { internal: '10.0.0.3', public: 'b', lo: 1, hi: 1 }, { internal: '10.0.0.2', public: 'a', lo: 1, hi: 1 },
      { internal: '10.0.0.4', public: 'b', lo: 1, hi: 1 },
    ]).map((r) => r.public)).toEqual(['a', 'b']);
  });
});
