import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Configs Pyruse runs: `peruse check` accepts each with a warning that says what peruse does, and
// replay shows it doing that. One config holds every case (one chain each), checked and replayed once.
const ROOT = path.resolve(import.meta.dirname, '../..');
const PERUSE = path.join(ROOT, 'bin/peruse.js');
const T0 = 1767225600_000000; // 2026-01-01 00:00:00 UTC
const S = 1_000_000;

const pick = (tag: string) => ({ filter: 'filter_equals', args: { field: 'case', value: tag } });

const CHAINS = {
  StepComment: [{ ...pick('step-comment'), comment: 'people write notes here' }, { action: 'action_log', args: { message: 'step comment ran' } }],
  ArgsComment: [pick('args-comment'), { action: 'action_log', args: { message: 'args comment ran', comment: 'a note' } }],
  ActionElse: [pick('action-else'), { action: 'action_counterRaise', args: { counter: 'else', for: 'case' }, else: 'Nowhere' }, { action: 'action_log', args: { message: 'after the action with else' } }],
  NoopArgs: [pick('noop-args'), { action: 'action_noop', args: { why: 'discard' } }],
  PcreAnySave: [pick('pcreany-save'), { filter: 'filter_pcreAny', args: { field: 'MESSAGE', re: ['^user (?P<user>\\w+)$'], save: ['ignored'] } },
    { action: 'action_log', args: { message: 'pcreAny {user}' } }],
  KeepZero: [pick('keep-zero'), { action: 'action_counterRaise', args: { counter: 'forever', for: 'who', keepSeconds: 0, save: 'count' } },
    { action: 'action_log', args: { message: 'count {count}' } }],
  DnatZero: [pick('dnat-zero'), { action: 'action_dnatCapture', args: { saddr: 'client', addr: 'proxy', keepSeconds: 0 } }],
  DnatUse: [pick('dnat-use'), { action: 'action_dnatReplace', args: { addr: 'ip', saddrInto: 'ip' } }, { action: 'action_log', args: { message: 'real {ip}' } }],
  BanZero: [pick('ban-zero'), { action: 'action_nftBan', args: { IP: 'ip', banSeconds: 0, nftSetIPv4: 'ip Inet4 ban', nftSetIPv6: 'ip6 Inet6 ban' } }],
  ReportLevel: [pick('report-level'), { action: 'action_dailyReport', args: { level: 'warn', message: 'lower-case level', details: 'first' } }],
  LogLevel: [pick('log-level'), { action: 'action_log', args: { level: 'notice', message: 'lower-case level' } }],
  Email: [pick('email'), { action: 'action_email', args: { message: 'mail for one address' } }],
  InString: [pick('in-string'), { filter: 'filter_in', args: { field: 'word', values: 'abcdef' } }, { action: 'action_log', args: { message: 'in {word}' } }],
  GeNull: [pick('ge-null'), { filter: 'filter_greaterOrEquals', args: { field: 'PRIORITY', value: null } }, { action: 'action_log', args: { message: 'ge null passed' } }],
  LeNull: [pick('le-null'), { filter: 'filter_lowerOrEquals', args: { field: 'PRIORITY', value: null } }, { action: 'action_log', args: { message: 'le null passed' } }],
  Strftime: [pick('strftime'), { action: 'action_log', args: { message: 'at {__REALTIME_TIMESTAMP:%Y-%m-%d %H:%M} ({__REALTIME_TIMESTAMP:%a %d %b, %j})' } }],
  Atomic: [pick('atomic'), { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^(?>(?P<word>\\w+)) (?P<count>\\d++)$' } }, { action: 'action_log', args: { message: 'atomic {word} {count}' } }],
  Possessive: [pick('possessive'), { filter: 'filter_pcre', args: { field: 'MESSAGE', re: '^a++a' } }, { action: 'action_log', args: { message: 'possessive matched' } }],
};

const entry = (i: number, fields: Record<string, unknown>) => ({ __REALTIME_TIMESTAMP: String(T0 + i * S), ...fields });
const ENTRIES = [
  entry(0, { case: 'step-comment' }),
  entry(1, { case: 'args-comment' }),
  entry(2, { case: 'action-else' }),
  entry(3, { case: 'noop-args' }),
  entry(4, { case: 'pcreany-save', MESSAGE: 'user alice' }),
  entry(5, { case: 'keep-zero', who: 'x' }),
  // a day later: a raise with keepSeconds 0 still counts (no limit, as in Pyruse)
  entry(86_400, { case: 'keep-zero', who: 'x' }),
  entry(86_401, { case: 'dnat-zero', client: '203.0.113.1', proxy: '10.0.0.1' }),
  entry(86_401.5, { case: 'dnat-use', ip: '10.0.0.1' }),
  // 1-second buckets: gone 3 s later
  entry(86_405, { case: 'dnat-use', ip: '10.0.0.1' }),
  entry(86_406, { case: 'ban-zero', ip: '192.0.2.4' }),
  entry(86_407, { case: 'report-level' }),
  entry(86_408, { case: 'log-level' }),
  entry(86_409, { case: 'email' }),
  entry(86_410, { case: 'in-string', word: 'cde' }),
  entry(86_411, { case: 'in-string', word: 'xyz' }),
  entry(86_412, { case: 'in-string', word: 7 }),
  entry(86_413, { case: 'ge-null', PRIORITY: '3' }),
  entry(86_414, { case: 'le-null', PRIORITY: '3' }),
  entry(86_415, { case: 'strftime' }),
  entry(86_416, { case: 'atomic', MESSAGE: 'alpha 42' }),
  entry(86_417, { case: 'atomic', MESSAGE: 'alpha beta' }),
  entry(86_418, { case: 'possessive', MESSAGE: 'aaa' }),
];

interface Trace { line: number; steps: { step: string; result: unknown }[]; effects?: string[] }

let dir: string;
let check: { code: number | null; err: string };
let traces: Trace[];

/** The check line for a config path, e.g. `actions["StepComment"][0].comment`. */
function warning(at: string): string {
  const line = check.err.split('\n').find((l) => l.split('  ')[1] === at);
  if (!line) throw new Error(`no warning at ${at} in:\n${check.err}`);
  return line;
}
const effects = (line: number) => traces.find((t) => t.line === line)?.effects ?? [];
const steps = (line: number) => traces.find((t) => t.line === line)!.steps.map((s) => `${s.step}:${String(s.result)}`);

describe('peruse check accepts what Pyruse runs, and replay does what the warning says', () => {
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'peruse-accepts-'));
    mkdirSync(path.join(dir, 'storage'));
    writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify({
      actions: CHAINS, storage: path.join(dir, 'storage'),
      // Pyruse compat: one address as a string
      email: { from: 'peruse@example.org', to: 'admin@example.org' },
    }, null, 1));
    writeFileSync(path.join(dir, 'in.jsonl'), ENTRIES.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const checked = spawnSync('node', [PERUSE, 'check', path.join(dir, 'peruse.json')], { encoding: 'utf8' });
    check = { code: checked.status, err: checked.stderr };
    // dry run: side effects described (no firewall here)
    const replayed = spawnSync('node', [PERUSE, 'replay', '--config', path.join(dir, 'peruse.json'), '--input', path.join(dir, 'in.jsonl'), '--dry-run', '--trace'], { encoding: 'utf8' });
    expect(replayed.status, replayed.stderr).toBe(0);
    traces = replayed.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Trace);
  }, 60_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('the config is accepted: exit 0, warnings only, the real Pyruse example still clean', () => {
    expect(check.code, check.err).toBe(0);
    expect(check.err).not.toMatch(/ {2}E_/);
    const example = spawnSync('node', [PERUSE, 'check', '/work/shared/fixtures/pyruse-full-example.json'], { encoding: 'utf8' });
    expect(example.status, example.stderr).toBe(0);
    expect(example.stderr).not.toMatch(/W_UNKNOWN_KEY|W_PYRUSE_COMPAT/);
  });

  it('an unknown key on a step ("comment") is a W_UNKNOWN_KEY warning and the step runs as without it', () => {
    expect(warning('actions["StepComment"][0].comment')).toMatch(/W_UNKNOWN_KEY {2}unknown key "comment" ignored, as Pyruse does/);
    expect(effects(1)).toEqual(['would log (PRIORITY=6, SYSLOG_IDENTIFIER=peruse): step comment ran']);
  });

  it('an unknown key in args is a W_UNKNOWN_KEY warning and the module gets the args it knows', () => {
    expect(warning('actions["ArgsComment"][1].args.comment')).toMatch(/W_UNKNOWN_KEY {2}unknown key "comment" ignored/);
    expect(effects(2)).toEqual(['would log (PRIORITY=6, SYSLOG_IDENTIFIER=peruse): args comment ran']);
  });

  it('"else" on an action is ignored with a warning: the chain goes on to the next step', () => {
    expect(warning('actions["ActionElse"][1].else')).toMatch(/W_PYRUSE_COMPAT {2}an action has no "else".*ignored/);
    expect(steps(3)).toContain('ActionElse[2]:done');
  });

  it('args on action_noop are ignored with a warning', () => {
    expect(warning('actions["NoopArgs"][1].args.why')).toMatch(/W_UNKNOWN_KEY {2}unknown key "why" ignored/);
    expect(steps(4)).toEqual(['StepComment[0]:false', 'ArgsComment[0]:false', 'ActionElse[0]:false', 'NoopArgs[0]:true', 'NoopArgs[1]:done']);
  });

  it('"save" on filter_pcreAny is ignored with a warning; its named groups are stored as always', () => {
    expect(warning('actions["PcreAnySave"][1].args.save')).toMatch(/W_UNKNOWN_KEY {2}unknown key "save" ignored/);
    expect(effects(5)).toEqual(['would log (PRIORITY=6, SYSLOG_IDENTIFIER=peruse): pcreAny alice']);
  });

  it('counterRaise keepSeconds 0 counts each raise for ever, as Pyruse', () => {
    expect(warning('actions["KeepZero"][1].args.keepSeconds')).toMatch(/W_PYRUSE_COMPAT {2}keepSeconds 0 means no limit/);
    expect(effects(6)).toEqual(['would log (PRIORITY=6, SYSLOG_IDENTIFIER=peruse): count 1']);
    expect(effects(7)).toEqual(['would log (PRIORITY=6, SYSLOG_IDENTIFIER=peruse): count 2']);
  });

  it('dnatCapture keepSeconds 0 keeps a mapping for 1 to 2 seconds, as Pyruse', () => {
    expect(warning('actions["DnatZero"][1].args.keepSeconds')).toMatch(/W_PYRUSE_COMPAT {2}keepSeconds 0: each mapping is kept 1 to 2 seconds/);
    expect(effects(9)).toEqual(['would log (PRIORITY=6, SYSLOG_IDENTIFIER=peruse): real 203.0.113.1']);
    expect(effects(10)).toEqual(['would log (PRIORITY=6, SYSLOG_IDENTIFIER=peruse): real 10.0.0.1']);
  });

  it('banSeconds 0 is a permanent ban (no timeout), as Pyruse', () => {
    expect(warning('actions["BanZero"][1].args.banSeconds')).toMatch(/W_PYRUSE_COMPAT {2}banSeconds 0: a permanent ban/);
    const nft = effects(11).join('\n');
    expect(nft).toContain('192.0.2.4');
    expect(nft).not.toMatch(/timeout/);
  });

  it('a dailyReport level outside WARN/INFO/OTHER is filed as OTHER and unknown details show ALL, as Pyruse', () => {
    expect(warning('actions["ReportLevel"][1].args.level')).toMatch(/W_PYRUSE_COMPAT {2}level "warn" is filed as OTHER/);
    expect(warning('actions["ReportLevel"][1].args.details')).toMatch(/W_PYRUSE_COMPAT {2}details "first" shows every occurrence \(ALL\)/);
    expect(effects(12)).toEqual(['would add to the daily report: OTHER: lower-case level']);
  });

  it('an action_log level in lower case is read in upper case', () => {
    expect(warning('actions["LogLevel"][1].args.level')).toMatch(/W_PYRUSE_COMPAT {2}level "notice" read as "NOTICE"/);
    expect(effects(13)).toEqual(['would log (PRIORITY=5, SYSLOG_IDENTIFIER=peruse): lower-case level']);
  });

  it('email.to as a string is one recipient', () => {
    expect(warning('email.to')).toMatch(/W_PYRUSE_COMPAT {2}"to" is one address, not a list: mail goes to "admin@example.org"/);
    expect(effects(14).join('\n')).toContain('mail for one address');
    // sent for real (sendmail appends to a file): one recipient, not one per character
    const config = path.join(dir, 'email.json');
    writeFileSync(config, JSON.stringify({ actions: { Email: CHAINS.Email }, storage: path.join(dir, 'storage'),
      email: { from: 'peruse@example.org', to: 'admin@example.org', sendmail: ['sh', '-c', `cat >> ${path.join(dir, 'mail.eml')}`] } }));
    const sent = spawnSync('node', [PERUSE, 'replay', '--config', config, '--input', path.join(dir, 'in.jsonl')], { encoding: 'utf8' });
    expect(sent.status, sent.stderr).toBe(0);
    const mail = readFileSync(path.join(dir, 'mail.eml'), 'utf8');
    expect(mail).toMatch(/^To: admin@example\.org\r?$/m);
    expect(mail).toContain('mail for one address');
  });

  it('filter_in with values as a string passes when the field is a substring of it (Python\'s "in")', () => {
    expect(warning('actions["InString"][1].args.values')).toMatch(/W_PYRUSE_COMPAT {2}"values" is a string, not a list: passes when the field is a substring/);
    expect(effects(15)).toEqual(['would log (PRIORITY=6, SYSLOG_IDENTIFIER=peruse): in cde']);
    expect(steps(16)).toContain('InString[1]:false');
    expect(steps(17)).toContain('InString[1]:false');
  });

  it('value null in filter_greaterOrEquals and filter_lowerOrEquals never passes', () => {
    expect(warning('actions["GeNull"][1].args.value')).toMatch(/W_PYRUSE_COMPAT {2}value null: this filter never passes/);
    expect(warning('actions["LeNull"][1].args.value')).toMatch(/W_PYRUSE_COMPAT {2}value null: this filter never passes/);
    expect(steps(18)).toContain('GeNull[1]:false');
    expect(steps(19)).toContain('LeNull[1]:false');
  });

  it('a Python datetime format spec on __REALTIME_TIMESTAMP is rendered with strftime, in local time', () => {
    const at = new Date((T0 + 86_415 * S) / 1000);
    const two = (n: number) => String(n).padStart(2, '0');
    const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'], months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const expected = `at ${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())} (${days[at.getDay()]} ${two(at.getDate())} ${months[at.getMonth()]}, ${at.getDate() === 2 ? '002' : at.getDate() === 1 ? '001' : '???'})`;
    expect(effects(20)).toEqual([`would log (PRIORITY=6, SYSLOG_IDENTIFIER=peruse): ${expected}`]);
  });

  it('atomic groups and possessive quantifiers (Python 3.11) match as in Python, with a warning naming the engine', () => {
    expect(warning('actions["Atomic"][1].args.re')).toMatch(/W_REGEX_FALLBACK {2}.*atomic group or possessive quantifier/);
    expect(effects(21)).toEqual(['would log (PRIORITY=6, SYSLOG_IDENTIFIER=peruse): atomic alpha 42']);
    expect(steps(22)).toContain('Atomic[1]:false');
    // a++ takes every "a" and gives none back: "aaa" has no "a" left for the last one
    expect(steps(23)).toContain('Possessive[1]:false');
  });

  it('what Pyruse cannot run either stays refused, saying how to migrate: a bad network, a Python user module', () => {
    const bad = path.join(dir, 'bad.json');
    mkdirSync(path.join(dir, 'pyruse', 'filters'), { recursive: true });
    writeFileSync(path.join(dir, 'pyruse', 'filters', 'filter_isWeekend.py'), 'from pyruse import base\n');
    writeFileSync(bad, JSON.stringify({ actions: { A: [
      { filter: 'filter_inNetworks', args: { field: 'ip', nets: ['10.0.0.300/8'] } },
      { filter: 'filter_isWeekend' },
    ] } }));
    const result = spawnSync('node', [PERUSE, 'check', bad], { encoding: 'utf8' });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/E_BAD_NETWORK {2}"10\.0\.0\.300\/8" is not an IPv4 or IPv6 network .*Pyruse refuses it too/);
    expect(result.stderr).toMatch(/E_UNKNOWN_MODULE {2}no filter module named "filter_isWeekend": .*filter_isWeekend\.py is a Pyruse \(Python\) module, which peruse cannot run; port it to a JavaScript user module .*filter_isWeekend\.mjs/);
  });
});
