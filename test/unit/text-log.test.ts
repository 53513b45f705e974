import { describe, expect, it } from 'vitest';
import { TextLogParser, zoneOffset } from '../../src/journal/text-log.js';

const utc = (iso: string) => Date.parse(iso) * 1000;

describe('text logs read as journal entries', () => {
  it('a classic syslog line gives its identifier, pid, host, message and its own date in the given year and zone', () => {
    const parser = new TextLogParser({ format: 'syslog', year: 2026, timeZone: 'UTC' });
    const line = parser.parse('Mar  7 09:05:01 gate sshd[812]: Failed password for root from 203.0.113.5 port 50122 ssh2');
    expect(line?.format).toBe('syslog');
    expect(line?.entry).toEqual({
      __REALTIME_TIMESTAMP: utc('2026-03-07T09:05:01Z'), _HOSTNAME: 'gate', SYSLOG_IDENTIFIER: 'sshd', _PID: 812,
      MESSAGE: 'Failed password for root from 203.0.113.5 port 50122 ssh2',
    });
  });

  it('a date without a year moves to the next year when the log wraps from December to January', () => {
    const parser = new TextLogParser({ format: 'syslog', year: 2025, timeZone: 'UTC' });
    const december = parser.parse('Dec 31 23:59:59 h kernel: a')!.entry.__REALTIME_TIMESTAMP;
    const january = parser.parse('Jan  1 00:00:01 h kernel: b')!.entry.__REALTIME_TIMESTAMP;
    expect(december).toBe(utc('2025-12-31T23:59:59Z'));
    expect(january).toBe(utc('2026-01-01T00:00:01Z'));
  });

  it('a named time zone applies its own offset, summer time included', () => {
    const parser = new TextLogParser({ format: 'syslog', year: 2026, timeZone: 'Europe/Paris' });
    expect(parser.parse('Jan 15 12:00:00 h x: y')!.entry.__REALTIME_TIMESTAMP).toBe(utc('2026-01-15T11:00:00Z'));
    expect(parser.parse('Jul 15 12:00:00 h x: y')!.entry.__REALTIME_TIMESTAMP).toBe(utc('2026-07-15T10:00:00Z'));
    expect(zoneOffset('+05:30')(0)).toBe(330 * 60_000);
    expect(() => zoneOffset('Mars/Olympus')).toThrow(/unknown time zone/);
  });

  it('rsyslog high-precision lines keep their own offset and microseconds', () => {
    const parser = new TextLogParser({ format: 'auto', timeZone: 'UTC' });
    const line = parser.parse('2026-12-02T13:48:28.123456+01:00 mail postfix/smtpd[4242]: connect from unknown[198.51.100.7]');
    expect(line?.entry).toMatchObject({
      __REALTIME_TIMESTAMP: utc('2026-12-02T12:48:28.123Z') + 456, SYSLOG_IDENTIFIER: 'postfix/smtpd', _PID: 4242, _HOSTNAME: 'mail',
    });
  });

  it('an RFC 5424 line gives PRIORITY and facility from its PRI, and drops the structured data', () => {
    const parser = new TextLogParser({ format: 'rfc5424' });
    const line = parser.parse('<38>1 2026-12-02T13:48:28.003Z gate sshd 812 - [origin ip="192.0.2.1"] Invalid user admin from 203.0.113.9 port 4242');
    expect(line?.entry).toEqual({
      __REALTIME_TIMESTAMP: utc('2026-12-02T13:48:28.003Z'), PRIORITY: 6, SYSLOG_FACILITY: 4, _HOSTNAME: 'gate',
      SYSLOG_IDENTIFIER: 'sshd', _PID: 812, MESSAGE: 'Invalid user admin from 203.0.113.9 port 4242',
    });
  });

  it('nginx and Apache error lines become nginx and apache2 entries with the level as PRIORITY', () => {
    const parser = new TextLogParser({ format: 'auto', timeZone: 'UTC', hostname: 'web' });
    const nginx = parser.parse('2026/12/02 13:48:28 [error] 1234#1234: *5 user "bob" was not found in "/etc/nginx/htpasswd", client: 203.0.113.5, server: example.org');
    expect(nginx?.format).toBe('nginx-error');
    expect(nginx?.entry).toMatchObject({ SYSLOG_IDENTIFIER: 'nginx', _PID: 1234, PRIORITY: 3, _HOSTNAME: 'web', __REALTIME_TIMESTAMP: utc('2026-12-02T13:48:28Z') });
    const apache = parser.parse('[Wed Dec 02 13:48:28.123456 2026] [auth_basic:error] [pid 4321:tid 140] [client 203.0.113.5:50000] AH01618: user bob not found: /private');
    expect(apache?.format).toBe('apache-error');
    expect(apache?.entry).toMatchObject({ SYSLOG_IDENTIFIER: 'apache2', _PID: 4321, PRIORITY: 3, APACHE_MODULE: 'auth_basic',
      MESSAGE: '[client 203.0.113.5:50000] AH01618: user bob not found: /private', __REALTIME_TIMESTAMP: utc('2026-12-02T13:48:28.123Z') + 456 });
  });

  it('a line in no known format is refused, not guessed', () => {
    const parser = new TextLogParser({ format: 'auto' });
    expect(parser.parse('this is not a log line')).toBeUndefined();
    expect(parser.parse('Foo 12 10:00:00 h x: y')).toBeUndefined();
  });
});
