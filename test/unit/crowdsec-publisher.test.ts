import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Publisher } from '../../src/crowdsec/publisher.js';
import { lapiSettings } from '../../src/crowdsec/settings.js';
import { Settings } from '../../src/config/settings.js';
import { memoryLogger } from '../../src/system/log.js';

interface Call { method: string; url: string; agent: string; auth: string; body: unknown }

describe('the publisher against a fake LAPI', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** `answer` decides each reply; logins get a token that expires in an hour. */
  async function fakeLapi(answer: (call: Call, n: number) => [number, unknown]): Promise<{ url: string; calls: Call[] }> {
    const calls: Call[] = [];
    server = createServer(async (request: IncomingMessage, response) => {
      let text = '';
      for await (const chunk of request) text += String(chunk);
      const call = { method: request.method ?? '', url: request.url ?? '', agent: request.headers['user-agent'] ?? '', auth: request.headers.authorization ?? '', body: text ? JSON.parse(text) : undefined };
      calls.push(call);
      const [status, body] = call.url === '/v1/watchers/login'
        ? [200, { code: 200, token: `token-${calls.length}`, expire: new Date(Date.now() + 3600e3).toISOString() }]
        : answer(call, calls.length);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, calls };
  }

  function publisherFor(url: string) {
    const storage = mkdtempSync(path.join(tmpdir(), 'peruse-publisher-'));
    const settings = lapiSettings(new Settings({ actions: {}, crowdsec: { url, machine: { login: 'm', password: 'p' }, retrySeconds: [0.05] } }, path.join(storage, 'peruse.json')))!;
    const log = memoryLogger();
    return { publisher: new Publisher(settings, { storage, persist: true, log, nowMicros: () => Date.now() * 1000 }), log };
  }

  const ban = (value: string) => ({ scenario: 'peruse/SSH[3]', value, until: Date.now() * 1000 + 3600e6, at: Date.now() * 1000 });

  it('logs in as the machine with a name/version User-Agent, then posts alerts with the JWT', async () => {
    const lapi = await fakeLapi(() => [201, ['1']]);
    const { publisher } = publisherFor(lapi.url);
    publisher.start();
    publisher.publish(ban('203.0.113.1'));
    await publisher.idle();
    await publisher.stop();
    expect(lapi.calls.map((c) => `${c.method} ${c.url}`)).toEqual(['POST /v1/watchers/login', 'POST /v1/alerts']);
    expect(lapi.calls[0]!.body).toEqual({ machine_id: 'm', password: 'p', scenarios: [] });
    expect(lapi.calls[1]!.agent).toMatch(/^peruse\/\d/);
    expect(lapi.calls[1]!.auth).toBe('Bearer token-1');
    expect(publisher.published).toBe(1);
  });

  it('a revoked token (401) makes it log in again once and send the same batch', async () => {
    const lapi = await fakeLapi((call, n) => (n === 2 ? [401, { message: 'token expired' }] : [201, ['1']]));
    const { publisher } = publisherFor(lapi.url);
    publisher.start();
    publisher.publish(ban('203.0.113.2'));
    await publisher.idle();
    await publisher.stop();
    expect(lapi.calls.map((c) => `${c.method} ${c.url} ${c.auth}`)).toEqual([
      'POST /v1/watchers/login ', 'POST /v1/alerts Bearer token-1', 'POST /v1/watchers/login ', 'POST /v1/alerts Bearer token-3']);
  });

  it('a batch LAPI refuses as invalid is dropped with an error, and the bans after it still go', async () => {
    const lapi = await fakeLapi((call) => (JSON.stringify(call.body).includes('203.0.113.3') ? [400, { message: 'bad alert' }] : [201, ['1']]));
    const { publisher, log } = publisherFor(lapi.url);
    publisher.publish(ban('203.0.113.3'));
    publisher.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    publisher.publish(ban('203.0.113.4'));
    await publisher.idle();
    await publisher.stop();
    expect(log.lines.join('\n')).toContain('answered 400: bad alert; dropped 1 decisions (203.0.113.3)');
    expect(publisher.published).toBe(1);
  });

  it('while LAPI fails, publish returns at once and bans queue; they all go in one request once it answers', async () => {
    let down = true;
    const lapi = await fakeLapi(() => (down ? [503, { message: 'database locked' }] : [201, ['1', '2']]));
    const { publisher, log } = publisherFor(lapi.url);
    publisher.start();
    for (let i = 0; i < 50; i++) publisher.publish(ban(`198.51.100.${i}`));
    expect(publisher.queued).toBe(50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    down = false;
    await publisher.idle();
    await publisher.stop();
    expect(log.lines.join('\n')).toMatch(/answered 503: database locked; 50 bans queued, retrying in 0.05 s \(attempt 1\)/);
    const posts = lapi.calls.filter((c) => c.url === '/v1/alerts');
    const accepted = posts[posts.length - 1]!.body as { decisions: unknown[] }[];
    expect(accepted.flatMap((a) => a.decisions)).toHaveLength(50);
  });
});
