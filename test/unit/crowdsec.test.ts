import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LapiBouncer } from '../../src/crowdsec/bouncer.js';
import type { LapiDecision } from '../../src/crowdsec/client.js';
import { parseGoDuration } from '../../src/crowdsec/duration.js';
import { Outbox } from '../../src/crowdsec/outbox.js';
import { toAlerts } from '../../src/crowdsec/publisher.js';
import { lapiSettings } from '../../src/crowdsec/settings.js';
import { memoryLogger } from '../../src/system/log.js';
import { testContext } from './bans-context.js';

const S = 1e6;

describe('Go durations as LAPI writes them', () => {
  it('reads hours, minutes, fractional seconds, sub-second units and signs', () => {
    expect(parseGoDuration('59m57.5s')).toBeCloseTo(3597.5);
    expect(parseGoDuration('3h2m1s')).toBe(10921);
    expect(parseGoDuration('-1.156718731s')).toBeCloseTo(-1.156718731);
    expect(parseGoDuration('500ms')).toBeCloseTo(0.5);
    expect(parseGoDuration('87600h')).toBe(315_360_000);
    expect(parseGoDuration('0s')).toBe(0);
  });

  it('refuses anything else', () => {
    for (const bad of ['', '1d', '1h;rm', 'h', '1.2.3s', 42, undefined, '9'.repeat(70) + 's']) expect(parseGoDuration(bad), String(bad)).toBeUndefined();
  });
});

describe('alerts built from queued bans', () => {
  const now = 1_767_225_600 * S;

  it('a lone ban is one alert whose source is the address, with the time left as duration and origin peruse', () => {
    const [alert, ...rest] = toAlerts([{ scenario: 'peruse/SSH[3]', value: '203.0.113.5', until: now + 3600 * S, at: now - 100 * S }], 'b1', now + 10 * S);
    expect(rest).toEqual([]);
    expect(alert!.source).toEqual({ scope: 'Ip', value: '203.0.113.5', ip: '203.0.113.5' });
    expect(alert!.decisions).toEqual([{ origin: 'peruse', type: 'ban', scope: 'Ip', value: '203.0.113.5', scenario: 'peruse/SSH[3]', duration: '3590s' }]);
    expect(alert!.meta).toEqual([{ key: 'peruse_batch', value: 'b1' }]);
    expect(alert!.start_at).toBe(new Date((now - 100 * S) / 1000).toISOString());
  });

  it('a batch is one alert per scenario; ranges are Range decisions, permanent bans last ten years, ended ones are left out', () => {
    const alerts = toAlerts([
      { scenario: 'peruse/SSH[3]', value: '203.0.113.5', until: 0, at: now },
      { scenario: 'peruse/SSH[3]', value: '2001:db8::/64', until: now + 60 * S, at: now },
      { scenario: 'peruse/HTTP[1]', value: '198.51.100.1', until: now + 60 * S, at: now },
      { scenario: 'peruse/HTTP[1]', value: '198.51.100.2', until: now - S, at: now - 61 * S },
    ], 'b2', now);
    expect(alerts.map((a) => [a.scenario, a.decisions.length])).toEqual([['peruse/SSH[3]', 2], ['peruse/HTTP[1]', 1]]);
    expect(alerts[0]!.source).toEqual({ scope: 'peruse/batch', value: 'b2' });
    expect(alerts[0]!.decisions.map((d) => [d.scope, d.value, d.duration])).toEqual([['Ip', '203.0.113.5', '87600h'], ['Range', '2001:db8::/64', '60s']]);
  });
});

describe('the outbox file', () => {
  const dir = () => mkdtempSync(path.join(tmpdir(), 'peruse-outbox-'));

  it('keeps queued bans across a restart, and a batch marked before its POST is marked as possibly sent', () => {
    const file = path.join(dir(), 'crowdsec-outbox.json');
    const first = new Outbox(file, memoryLogger());
    first.add({ scenario: 'peruse/SSH[3]', value: '203.0.113.5', until: 0, at: 1 });
    first.add({ scenario: 'peruse/SSH[3]', value: '203.0.113.6', until: 0, at: 2 });
    const batch = first.take(1, () => 'run1-1');
    expect(batch.map((i) => i.value)).toEqual(['203.0.113.5']);
    // the mark is on disk before the POST: no flush needed
    const second = new Outbox(file, memoryLogger());
    second.load();
    expect(second.size).toBe(2);
    expect(second.take(10, () => 'other').map((i) => [i.value, i.batch, i.sentOnce])).toEqual([['203.0.113.5', 'run1-1', true]]);
    first.flush();
    const third = new Outbox(file, memoryLogger());
    third.load();
    const again = third.take(10, () => 'run2-1');
    expect(again).toEqual([{ scenario: 'peruse/SSH[3]', value: '203.0.113.5', until: 0, at: 1, batch: 'run1-1', sentOnce: true }]);
    third.done('run1-1');
    expect(third.take(10, () => 'run2-2').map((i) => [i.value, i.batch, i.sentOnce === true])).toEqual([['203.0.113.6', 'run2-2', false]]);
  });

  it('a corrupt or hostile file loses nothing else: bad records are skipped and counted', () => {
    const file = path.join(dir(), 'crowdsec-outbox.json');
    writeFileSync(file, JSON.stringify({ version: 1, items: [
      { scenario: 'peruse/SSH[3]', value: '1.2.3.4; flush ruleset', until: 0, at: 1 },
      { scenario: 'peruse/SSH[3]', value: '203.0.113.7', until: -5, at: 1 },
      null,
      { scenario: 'peruse/SSH[3]', value: '203.0.113.8', until: 0, at: 1 },
    ] }));
    const log = memoryLogger();
    const outbox = new Outbox(file, log);
    outbox.load();
    expect(outbox.take(10, () => 'x').map((i) => i.value)).toEqual(['203.0.113.8']);
    expect(log.lines.join('\n')).toContain('skipped 3 records');
    writeFileSync(file, '{not json');
    const broken = new Outbox(file, log);
    broken.load();
    expect(broken.size).toBe(0);
    expect(log.lines.join('\n')).toContain('cannot read');
  });
});

describe('the bouncer against a fake LAPI', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** A stream endpoint answering each read with the next of `answers` (then nothing new). */
  async function fakeLapi(answers: { new?: LapiDecision[]; deleted?: LapiDecision[] }[]): Promise<{ url: string; reads: string[] }> {
    const reads: string[] = [];
    server = createServer((request, response) => {
      reads.push(request.url ?? '');
      if (request.headers['x-api-key'] !== 'k') { response.writeHead(403).end('{"message":"access forbidden"}'); return; }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers.shift() ?? { new: null, deleted: null }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, reads };
  }

  const decision = (value: string, extra: Partial<LapiDecision> = {}): LapiDecision =>
    ({ id: Math.floor(Math.random() * 1e9), origin: 'crowdsec', type: 'ban', scope: 'Ip', value, duration: '1h', scenario: 'crowdsecurity/ssh-bf', ...extra });

  async function bouncerFor(answers: { new?: LapiDecision[]; deleted?: LapiDecision[] }[], raw: Record<string, unknown> = {}) {
    const lapi = await fakeLapi(answers);
    const t = testContext({ raw: { crowdsec: { url: lapi.url, bouncer: { apiKey: 'k', nftSetIPv4: 'ip Inet4 lapi', nftSetIPv6: 'ip6 Inet6 lapi', pollSeconds: 0.2 } }, ...raw } });
    const bouncer = new LapiBouncer(lapiSettings(t.ctx.settings)!, t.ctx);
    return { ...t, bouncer, lapi };
  }

  it('hostile or foreign decisions never reach a firewall command; valid ones go to the set of their family', async () => {
    const { bouncer, runner, lapi } = await bouncerFor([{ new: [
      decision('1.2.3.4;flush ruleset'), decision('1.2.3.4 }'), decision('203.0.113.9', { type: 'captcha' }),
      decision('203.0.113.10', { scope: 'Country' }), decision('203.0.113.0/24', { scope: 'Ip' }), decision('203.0.113.11', { scope: 'Range' }),
      decision('203.0.113.12', { duration: 'forever' }), decision('203.0.113.13', { duration: '-3s' }),
      decision('203.0.113.20'), decision('2001:db8::/48', { scope: 'Range', duration: '30m0.5s' }),
    ] }]);
    bouncer.start();
    await bouncer.nextPoll();
    await bouncer.stop();
    expect(lapi.reads[0]).toMatch(/^\/v1\/decisions\/stream\?startup=true&scopes=ip%2Crange$/);
    const commands = runner.calls.map((c) => c.slice(1).join(' '));
    expect(commands).toEqual(['add element ip Inet4 lapi {203.0.113.20 timeout 3600s}', 'add element ip6 Inet6 lapi {2001:db8::/48 timeout 1801s}']);
  });

  it('a deleted decision removes the ban it brought, but not a ban of the host\'s own steps, nor one another decision still holds', async () => {
    const first = decision('203.0.113.30'), second = decision('203.0.113.30', { scenario: 'other' }), lone = decision('203.0.113.31');
    const { bouncer, runner, ctx } = await bouncerFor([{ new: [first, second, lone, decision('203.0.113.32')] }, { deleted: [first, lone, decision('203.0.113.32')] }]);
    const store = (await import('../../src/net/ban-step.js')).banService((await import('../../src/net/ban-commands.js')).nftBackend, ctx).store;
    bouncer.start();
    await bouncer.nextPoll();
    // this host's own step banned .32 meanwhile (a local ban has no origin)
    store.put({ set: 'ip Inet4 lapi', ip: '203.0.113.32', until: 0, reason: 'SSH[3]' });
    await bouncer.nextPoll();
    await bouncer.stop();
    expect(store.get('ip Inet4 lapi', '203.0.113.30')?.origin).toBe('lapi:crowdsec');
    expect(store.get('ip Inet4 lapi', '203.0.113.31')).toBeUndefined();
    expect(store.get('ip Inet4 lapi', '203.0.113.32')?.reason).toBe('SSH[3]');
    const deletes = runner.calls.map((c) => c.slice(1).join(' ')).filter((c) => c.startsWith('delete'));
    expect(deletes).toEqual(['delete element ip Inet4 lapi {203.0.113.31}']);
  });

  it('a decision for an address already banned at least as long is not applied again (this host\'s own ban coming back)', async () => {
    const { bouncer, runner, ctx } = await bouncerFor([{ new: [decision('203.0.113.40', { origin: 'peruse', duration: '59m59s' })] }]);
    const { banService } = await import('../../src/net/ban-step.js');
    const { nftBackend } = await import('../../src/net/ban-commands.js');
    banService(nftBackend, ctx).store.put({ set: 'ip Inet4 lapi', ip: '203.0.113.40', until: Date.now() * 1000 + 3600 * S, reason: 'SSH[3]' });
    bouncer.start();
    await bouncer.nextPoll();
    await bouncer.stop();
    expect(runner.calls).toEqual([]);
    expect(bouncer.skipped).toBe(1);
  });

  it('a refused API key is logged and the stream read again later, never fatal', async () => {
    const lapi = await fakeLapi([]);
    const t = testContext({ raw: { crowdsec: { url: lapi.url, bouncer: { apiKey: 'wrong', nftSetIPv4: 'ip Inet4 lapi', nftSetIPv6: 'ip6 Inet6 lapi', pollSeconds: 0.2 }, retrySeconds: [0.05] } } });
    const bouncer = new LapiBouncer(lapiSettings(t.ctx.settings)!, t.ctx);
    bouncer.start();
    await new Promise((resolve) => setTimeout(resolve, 400));
    await bouncer.stop();
    expect(t.log.lines.join('\n')).toMatch(/stream answered 403: access forbidden; reading the decision stream again in 0.05 s \(attempt 1\)/);
    expect(lapi.reads.length).toBeGreaterThan(2);
    expect(t.runner.calls).toEqual([]);
  });
});
