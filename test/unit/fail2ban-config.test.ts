import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatedLineParser } from '../../src/journal/dated-line.js';
import { loadFilter, parseFilterReference } from '../../src/fail2ban/filter.js';
import { interpolate, parseIni, substituteTags } from '../../src/fail2ban/ini.js';
import { importFail2ban } from '../../src/fail2ban/import.js';
import { parseDuration, readJails } from '../../src/fail2ban/jails.js';
import { expandConditionals, translateFailregex } from '../../src/fail2ban/regex.js';
import { compilePattern } from '../../src/text/regex.js';
import { build } from '../helpers/engine.js';

/** A fail2ban directory written by the test (invented filters, not fail2ban's). */
function fail2banDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'peruse-f2b-unit-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('fail2ban INI files', () => {
  it('indented lines continue a value, comments anywhere are skipped, keys keep their case', () => {
    const ini = parseIni('[Definition]\nfailregex = ^one <HOST>$\n    # a comment between\n    ^two <HOST>$\nMode: normal\n');
    expect(ini.get('Definition')?.get('failregex')?.value).toBe('^one <HOST>$\n^two <HOST>$');
    expect(ini.get('Definition')?.get('Mode')?.value).toBe('normal');
  });

  it('a line outside any section is an error naming file and line', () => {
    expect(() => parseIni('key = value\n', 'x.conf')).toThrow('x.conf:1');
  });

  it('%(name)s expands recursively, %% is a percent sign, unknown names are kept and listed', () => {
    const values: Record<string, string> = { a: 'A%(b)s', b: '-B' };
    const missing = new Set<string>();
    expect(interpolate('%(a)s %% %(nope)s', (n) => values[n], missing)).toBe('A-B % %(nope)s');
    expect([...missing]).toEqual(['nope']);
  });

  it('<tags> are substituted innermost first, unknown ones stay', () => {
    const values: Record<string, string> = { mode: 'aggressive', 'rx-aggressive': 'X<HOST>' };
    expect(substituteTags('^<rx-<mode>>$', (n) => values[n])).toBe('^X<HOST>$');
  });

  it('durations take fail2ban suffixes; -1 is forever; nonsense is an error', () => {
    expect(parseDuration('600')).toBe(600);
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('1h 30m')).toBe(5400);
    expect(parseDuration('1w')).toBe(604800);
    expect(parseDuration('-1')).toBeUndefined();
    expect(() => parseDuration('soon')).toThrow('not a duration');
    expect(() => parseDuration('3fortnights')).toThrow('unknown time unit');
  });

  it('a filter reference carries parameters, quoted or not', () => {
    expect(parseFilterReference('app[mode=aggressive, prefix="a, b"]')).toEqual({ name: 'app', params: { mode: 'aggressive', prefix: 'a, b' } });
    expect(parseFilterReference('app')).toEqual({ name: 'app', params: {} });
  });
});

describe('fail2ban layering', () => {
  const dir = fail2banDir({
    'jail.conf': '[INCLUDES]\nbefore = paths.conf\n[DEFAULT]\nmaxretry = 5\nenabled = false\nfilter = %(__name__)s[mode=%(mode)s]\nmode = normal\n[app]\nlogpath = %(app_log)s\n[other]\nenabled = true\n',
    'paths.conf': '[DEFAULT]\napp_log = /var/log/app.log\n',
    'jail.d/10-app.conf': '[app]\nenabled = true\nmaxretry = 3\n',
    'jail.local': '[app]\nmaxretry = 2\nmode = strict\n',
    'jail.d/20-app.local': '[other]\nenabled = false\n',
    'filter.d/common.conf': '[DEFAULT]\n__prefix = (?:\\S+ )?app(?:\\[\\d+\\])?:\\s\n',
    'filter.d/app.conf': '[INCLUDES]\nbefore = common.conf\n[Definition]\nrx-normal = ^%(__prefix)sbad password from <HOST>$\nrx-strict = %(rx-normal)s\n           ^%(__prefix)sprobe from <HOST>$\nfailregex = <rx-<mode>>\n[Init]\nmode = normal\n',
    'filter.d/app.local': '[Definition]\nignoreregex = from 127\\.\n',
  });

  it('jail.conf, jail.d/*.conf, jail.local, jail.d/*.local in that order, [INCLUDES] and [DEFAULT] as fail2ban reads them', () => {
    const { jails } = readJails(dir);
    const app = jails.find((j) => j.name === 'app')!;
    expect(app.enabled).toBe(true);
    expect(app.get('maxretry')).toBe('2');
    expect(app.get('logpath')).toBe('/var/log/app.log');
    expect(app.get('filter')).toBe('app[mode=strict]');
    expect(jails.find((j) => j.name === 'other')!.enabled).toBe(false);
  });

  it('the jail\'s mode picks the filter\'s regexes, the .local adds to the .conf', () => {
    const strict = loadFilter(dir, 'app', { mode: 'strict' });
    expect(strict.failregex).toEqual(['^(?:\\S+ )?app(?:\\[\\d+\\])?:\\sbad password from <HOST>$', '^(?:\\S+ )?app(?:\\[\\d+\\])?:\\sprobe from <HOST>$']);
    expect(strict.ignoreregex).toEqual(['from 127\\.']);
    expect(loadFilter(dir, 'app', {}).failregex).toHaveLength(1);
  });

  it('only the enabled jails are imported, with the jail\'s settings', () => {
    const { reports, config } = importFail2ban(dir);
    expect(reports.map((r) => r.jail)).toEqual(['app']);
    const steps = Object.values(config.actions).flat();
    expect(steps.find((s) => s.filter === 'filter_greaterOrEquals')?.args).toEqual({ field: 'failures', value: 2 });
    expect(reports[0]!.notes.join('\n')).toContain('/var/log/app.log');
  });
});

describe('fail2ban jail settings in peruse', () => {
  const filter = '[Definition]\nfailregex = ^bad password from <HOST>$\njournalmatch = _SYSTEMD_UNIT=app.service + _COMM=app\n';
  const dir = fail2banDir({
    'jail.conf': [
      '[DEFAULT]\nbantime = 1h\nfindtime = 10m\nmaxretry = 5\n',
      '[web]\nenabled = true\nfilter = app\nbackend = systemd\nignoreip = 127.0.0.1/8 ::1 trusted.example.org\n'
        + 'action = nftables-multiport[name=web, port="http,https"]\n         sendmail-whois[dest=root]\n         cloudflare[cfuser=x]\n'
        + 'bantime.increment = true\nbantime.maxtime = 2w\n',
      '[mail]\nenabled = true\nfilter = app\nbantime = -1\naction = iptables-ipset-proto6-allports[name=mail]\n',
      '[broken]\nenabled = true\nfilter = app\nfindtime = soon\n',
      '[lost]\nenabled = true\nfilter = nothing-here\n',
    ].join(''),
    'filter.d/app.conf': filter,
  });
  const { reports, config } = importFail2ban(dir);
  const byJail = new Map(reports.map((r) => [r.jail, r]));
  const stepsOf = (jail: string) => Object.entries(config.actions).filter(([n]) => n === jail || n.startsWith(`${jail}: `)).flatMap(([, s]) => s);

  it('nftables actions ban into named nft sets, sendmail ones mail, unknown ones are reported', () => {
    const web = stepsOf('web');
    expect(web.find((s) => s.action === 'action_nftBan')?.args).toEqual({ IP: 'host', nftSetIPv4: 'inet peruse f2b-web4', nftSetIPv6: 'inet peruse f2b-web6', banSeconds: 3600 });
    expect(web.some((s) => s.action === 'action_email')).toBe(true);
    const notes = byJail.get('web')!.notes.join('\n');
    expect(notes).toContain('action cloudflare: not converted');
    expect(notes).toContain('trusted.example.org');
    expect(byJail.get('web')!.sets.join('\n')).toContain('nft add set inet peruse f2b-web4');
    expect(byJail.get('web')!.status).toBe('converted with warnings');
  });

  it('ipset actions ban into ipsets; bantime -1 bans for ever', () => {
    const ban = stepsOf('mail').find((s) => s.action === 'action_ipsetBan');
    expect(ban?.args).toEqual({ IP: 'host', ipSetIPv4: 'f2b-mail', ipSetIPv6: 'f2b-mail6' });
  });

  it('journalmatch of a systemd jail becomes field filters, ignoreip never-banned networks, bantime.increment a longer second ban', () => {
    const web = stepsOf('web');
    expect(web.filter((s) => s.filter === 'filter_equals').map((s) => s.args)).toEqual([
      { field: '_SYSTEMD_UNIT', value: 'app.service' }, { field: '_COMM', value: 'app' }]);
    expect(web.find((s) => s.filter === 'filter_inNetworks')?.args.nets).toEqual(['127.0.0.1/8', '::1']);
    const bans = web.filter((s) => s.action === 'action_nftBan').map((s) => s.args.banSeconds);
    expect(bans).toEqual([3600, 1_209_600]);
  });

  it('a bad setting or a missing filter: not converted, with the reason', () => {
    expect(byJail.get('broken')).toMatchObject({ status: 'not converted' });
    expect(byJail.get('broken')!.notes.join('\n')).toContain('"soon" is not a duration');
    expect(byJail.get('lost')!.notes.join('\n')).toContain('no filter.d/nothing-here.conf');
    expect(Object.keys(config.actions).some((n) => n.startsWith('broken') || n.startsWith('lost'))).toBe(false);
  });

  it('the imported chains build without a config error, and a failure from the journal counts', async () => {
    const { program, issues } = await build(config);
    expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
    const { run } = await import('../helpers/engine.js');
    const entry: Record<string, unknown> = { _SYSTEMD_UNIT: 'app.service', MESSAGE: 'bad password from 192.0.2.5', __REALTIME_TIMESTAMP: 1 };
    await run(program!, entry);
    expect(entry.failures).toBe(1);
    const other: Record<string, unknown> = { _SYSTEMD_UNIT: 'other.service', MESSAGE: 'bad password from 192.0.2.5', __REALTIME_TIMESTAMP: 2 };
    await run(program!, other);
    expect(other.failures).toBe(2); // the mail jail (no journalmatch, file backend) counts it, web does not
  });
});

describe('fail2ban regexes in peruse', () => {
  it('<HOST> captures an IPv4, an IPv6 (bracketed or not) or a name into "host"; F- tags become named fields', () => {
    const t = translateFailregex('^auth failed for <F-USER>\\S+</F-USER> from <HOST> port \\d+$');
    expect(t.hasHost).toBe(true);
    const re = compilePattern(t.sources[0]!);
    expect(re.exec('auth failed for root from 192.0.2.1 port 22')?.groups).toMatchObject({ user: 'root', host: '192.0.2.1' });
    expect(re.exec('auth failed for root from [2001:db8::1] port 22')?.groups?.host).toBe('2001:db8::1');
    expect(re.exec('auth failed for root from ::ffff:192.0.2.9 port 22')?.groups?.host).toBe('192.0.2.9');
    expect(re.exec('auth failed for root from client.example.org port 22')?.groups?.host).toBe('client.example.org');
  });

  it('two host tags in alternatives each capture the host', () => {
    const t = translateFailregex('^relay=\\[(?:IPv6:<IP6>|<IP4>)\\]$');
    const hosts = ['relay=[IPv6:2001:db8::2]', 'relay=[192.0.2.4]'].map((line) => {
      for (const source of t.sources) {
        const m = compilePattern(source).exec(line);
        if (m) return m.groups?.host;
      }
      return undefined;
    });
    expect(hosts).toEqual(['2001:db8::2', '192.0.2.4']);
  });

  it('a conditional group becomes one regex per outcome, each matching what Python would', () => {
    const sources = expandConditionals('^(?P<quoted>")?(?P<name>\\w+)(?(quoted)"|)$');
    expect(sources).toHaveLength(2);
    const matches = (line: string) => sources.some((s) => compilePattern(s).exec(line) !== null);
    expect(matches('"bob"')).toBe(true);
    expect(matches('bob')).toBe(true);
    expect(matches('"bob')).toBe(false);
  });

  it('<F-NOFAIL>, <F-MLFFORGET>, <F-MLFGAINED> are seen', () => {
    const t = translateFailregex('^<F-NOFAIL><F-MLFFORGET>Closed</F-MLFFORGET></F-NOFAIL> by <HOST>');
    expect([t.noFail, t.forget, t.gained]).toEqual([true, true, false]);
  });
});

describe('--log-format line', () => {
  it('takes the date out wherever it stands and keeps the rest of the line, brackets included', () => {
    const p = new DatedLineParser(2026);
    expect(p.parse('Dec  2 13:48:28 gate app[12]: bad password from 192.0.2.1')).toEqual(
      { __REALTIME_TIMESTAMP: Date.UTC(2026, 11, 2, 13, 48, 28) * 1000, MESSAGE: ' gate app[12]: bad password from 192.0.2.1' });
    expect(p.parse('192.0.2.1 - - [20/Jan/2015:19:53:28 +0100] "GET / HTTP/1.1" 404').MESSAGE).toBe('192.0.2.1 - - [] "GET / HTTP/1.1" 404');
    const iso = p.parse('2013-01-04 17:03:46,388 app: NOTICE x');
    expect(iso.MESSAGE).toBe(' app: NOTICE x');
    expect(iso.__REALTIME_TIMESTAMP).toBe(Date.UTC(2013, 0, 4, 17, 3, 46, 388) * 1000);
  });

  it('knows the day-first, year-after-day, ASSP, DirectAdmin and Half-Life layouts', () => {
    const p = new DatedLineParser(2026);
    expect(p.parse('11-06-2013 02:09:40 +0300 PROXY').MESSAGE).toBe(' +0300 PROXY');
    expect(p.parse('Oct 27 2015 09:24:46 host app[1]: x').MESSAGE).toBe(' host app[1]: x');
    expect(p.parse('Apr-07-13 07:08:36 [SSL-out] x').MESSAGE).toBe(' [SSL-out] x');
    expect(p.parse("2014:07:02-00:17:45: '192.0.2.4' 2 failed").MESSAGE).toBe(": '192.0.2.4' 2 failed");
    const hl = p.parse('L 01/01/2014 - 01:25:17: Bad Rcon');
    expect(hl).toEqual({ __REALTIME_TIMESTAMP: Date.UTC(2014, 0, 1, 1, 25, 17) * 1000, MESSAGE: ': Bad Rcon' });
  });

  it('a line without a date keeps the previous line\'s time', () => {
    const p = new DatedLineParser(2026);
    const first = p.parse('2020-05-01 10:00:00 a');
    expect(p.parse('no date here')).toEqual({ __REALTIME_TIMESTAMP: first.__REALTIME_TIMESTAMP, MESSAGE: 'no date here' });
  });
});
