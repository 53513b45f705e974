import { readFileSync } from 'node:fs';
import type { Agent, fetch as undiciFetch } from 'undici';
import type { LapiSettings } from './settings.js';

/** LAPI refuses a watcher login whose User-Agent is not "name/version". */
const USER_AGENT = 'peruse/0.1';
const REQUEST_TIMEOUT_MS = 15_000;
/** A token is renewed this long before LAPI says it expires. */
const RENEW_BEFORE_MS = 60_000;

/** A decision as LAPI's API carries it (decisions/stream, alerts). */
export interface LapiDecision {
  id?: number;
  origin: string;
  type: string;
  scope: string;
  value: string;
  duration: string;
  scenario: string;
}

export interface LapiAlert {
  scenario: string;
  scenario_hash: string;
  scenario_version: string;
  message: string;
  events_count: number;
  start_at: string;
  stop_at: string;
  capacity: number;
  leakspeed: string;
  simulated: boolean;
  events: unknown[];
  remediation: boolean;
  source: { scope: string; value: string; ip?: string; range?: string };
  meta?: { key: string; value: string }[];
  decisions: LapiDecision[];
}

export interface DecisionStream { new: LapiDecision[]; deleted: LapiDecision[] }

/** An HTTP answer LAPI gave, or could not give (status 0: no connection, timeout). */
export class LapiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
  /** Worth trying again later: LAPI down, overloaded, or restarting. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/**
 * The few LAPI calls peruse makes, over undici (Node's own fetch engine, with an Agent for TLS
 * client certificates and CAs). Watcher calls log in and renew the JWT as LAPI requires; a 401
 * (token revoked, LAPI restarted with a new secret) logs in again once.
 */
export class LapiClient {
  /** Calls made (logins included): the bench counts them. */
  calls = 0;
  private token: string | undefined;
  private tokenExpires = 0;
  private loggingIn: Promise<string> | undefined;
  private readonly connect: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
  /** undici is loaded at the first call: 150 ms of start-up that `check` and a config without LAPI never need. */
  private http: Promise<{ dispatcher: Agent; fetch: typeof undiciFetch }> | undefined;

  constructor(private readonly settings: LapiSettings) {
    const { ca, cert, key, insecureSkipVerify } = settings.tls;
    // read now: an unreadable TLS file is a config error, not a failure at the first ban
    this.connect = {
      ca: ca ? readFileSync(ca) : undefined,
      cert: cert ? readFileSync(cert) : undefined,
      key: key ? readFileSync(key) : undefined,
      rejectUnauthorized: !insecureSkipVerify,
    };
  }

  private undici(): Promise<{ dispatcher: Agent; fetch: typeof undiciFetch }> {
    this.http ??= import('undici').then(({ Agent, fetch }) => ({ dispatcher: new Agent({ connect: this.connect, keepAliveTimeout: 30_000 }), fetch }));
    return this.http;
  }

  get hasMachine(): boolean {
    return this.settings.machine !== undefined;
  }

  /** POST /v1/alerts; returns the ids LAPI gave the alerts. */
  async pushAlerts(alerts: LapiAlert[]): Promise<string[]> {
    return (await this.watcher('POST', '/v1/alerts', alerts)) as string[];
  }

  /** GET /v1/alerts with filters (ip, range, scenario, since …). */
  async findAlerts(query: Record<string, string>): Promise<(LapiAlert & { id: number })[]> {
    return ((await this.watcher('GET', `/v1/alerts?${new URLSearchParams(query)}`)) ?? []) as (LapiAlert & { id: number })[];
  }

  /** DELETE /v1/decisions?ip=… (or range=…): every decision of the address; returns how many. */
  async deleteDecisions(scope: 'ip' | 'range', value: string): Promise<number> {
    const answer = (await this.watcher('DELETE', `/v1/decisions?${new URLSearchParams({ [scope]: value })}`)) as { nbDeleted?: string } | undefined;
    return Number(answer?.nbDeleted ?? 0);
  }

  /** GET /v1/decisions/stream as a bouncer: everything with `startup`, else what changed since the last call. */
  async stream(startup: boolean, filters: { scopes: string[]; origins?: string[] }): Promise<DecisionStream> {
    const bouncer = this.settings.bouncer;
    if (!bouncer) throw new LapiError('crowdsec: no bouncer API key configured', 401);
    const query = new URLSearchParams({ startup: String(startup), scopes: filters.scopes.join(',') });
    if (filters.origins) query.set('origins', filters.origins.join(','));
    const answer = (await this.request('GET', `/v1/decisions/stream?${query}`, { 'x-api-key': bouncer.apiKey })) as Partial<DecisionStream> | undefined;
    // LAPI writes null for an empty list
    return { new: answer?.new ?? [], deleted: answer?.deleted ?? [] };
  }

  /** Closes the connections; a request under way is abandoned (its batch stays marked in the outbox). */
  async destroy(): Promise<void> {
    if (this.http) await (await this.http).dispatcher.destroy().catch(() => {});
  }

  private async watcher(method: string, path: string, body?: unknown): Promise<unknown> {
    try {
      return await this.request(method, path, { authorization: `Bearer ${await this.jwt()}` }, body);
    } catch (e) {
      if (!(e instanceof LapiError) || e.status !== 401) throw e;
      this.token = undefined;
      return this.request(method, path, { authorization: `Bearer ${await this.jwt()}` }, body);
    }
  }

  private async jwt(): Promise<string> {
    if (this.token && Date.now() < this.tokenExpires - RENEW_BEFORE_MS) return this.token;
    this.loggingIn ??= this.login().finally(() => { this.loggingIn = undefined; });
    return this.loggingIn;
  }

  private async login(): Promise<string> {
    const machine = this.settings.machine;
    if (!machine) throw new LapiError('crowdsec: no machine credentials configured', 401);
    const answer = (await this.request('POST', '/v1/watchers/login', {}, { machine_id: machine.login, password: machine.password, scenarios: [] })) as { token?: string; expire?: string };
    if (!answer?.token) throw new LapiError('crowdsec: LAPI login answered without a token', 502);
    const expires = Date.parse(answer.expire ?? '');
    this.token = answer.token;
    // no usable expiry: renew every few minutes rather than trust a token for ever
    this.tokenExpires = Number.isFinite(expires) ? expires : Date.now() + 5 * 60_000;
    return this.token;
  }

  private async request(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<unknown> {
    this.calls++;
    const { dispatcher, fetch } = await this.undici();
    let response;
    try {
      response = await fetch(`${this.settings.url}${path}`, {
        method,
        headers: { ...headers, 'user-agent': USER_AGENT, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new LapiError(`crowdsec: ${method} ${this.settings.url}${path.split('?')[0]}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, 0);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text.slice(0, 300);
      try { message = String((JSON.parse(text) as { message?: unknown }).message ?? message); } catch { /* not JSON */ }
      throw new LapiError(`crowdsec: ${method} ${path.split('?')[0]} answered ${response.status}: ${message}`, response.status);
    }
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new LapiError(`crowdsec: ${method} ${path.split('?')[0]} answered something that is not JSON`, 502);
    }
  }
}
