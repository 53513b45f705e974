import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../config/settings.js';

/** The `crowdsec` section as written in the config (validated by the top-level schema). */
export interface CrowdsecSection {
  url?: string;
  machine?: { login?: string; password?: string; passwordFile?: string };
  bouncer?: {
    apiKey?: string; apiKeyFile?: string;
    nftSetIPv4?: string; nftSetIPv6?: string; ipSetIPv4?: string; ipSetIPv6?: string;
    pollSeconds?: number; resyncSeconds?: number; scopes?: string[]; origins?: string[];
  };
  tls?: { ca?: string; cert?: string; key?: string; insecureSkipVerify?: boolean };
  maxBatch?: number;
  retrySeconds?: number[];
}

// the set names the ban backends accept (ban-commands.ts checks them again before any command)
const NFT_SET = '^((ip|ip6|inet|arp|bridge|netdev) )?[A-Za-z_][A-Za-z0-9_./-]* [A-Za-z_][A-Za-z0-9_./-]*$';
const IPSET_NAME = '^[A-Za-z0-9_.:-]{1,31}$';

export const CROWDSEC_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['url'],
  description: 'CrowdSec Local API (LAPI): bans published as alerts (machine credentials) and/or followed as a bouncer (API key). See docs/cluster.md.',
  properties: {
    url: { type: 'string', pattern: '^https?://', description: 'LAPI base URL, e.g. "http://10.0.0.1:8080/" (the /v1 paths are added).' },
    machine: {
      type: 'object', additionalProperties: false, required: ['login'], if: { not: { required: ['passwordFile'] } }, then: { required: ['password'] },
      description: 'Watcher credentials (`cscli machines add NAME --password P`): needed to publish bans and to delete decisions on unban.',
      properties: {
        login: { type: 'string', minLength: 1, description: 'Machine id.' },
        password: { type: 'string', minLength: 1, description: 'Machine password (or passwordFile).' },
        passwordFile: { type: 'string', description: 'File holding the password (relative to the config file).' },
      },
    },
    bouncer: {
      type: 'object', additionalProperties: false,
      // if/then rather than anyOf: one plain "missing required property" line per problem
      allOf: [
        { if: { not: { required: ['apiKeyFile'] } }, then: { required: ['apiKey'] } },
        { if: { not: { anyOf: [{ required: ['ipSetIPv4'] }, { required: ['ipSetIPv6'] }] } }, then: { required: ['nftSetIPv4', 'nftSetIPv6'] }, else: { required: ['ipSetIPv4', 'ipSetIPv6'] } },
      ],
      description: 'Follow LAPI\'s decision stream and apply its bans to these sets (`cscli bouncers add NAME`).',
      properties: {
        apiKey: { type: 'string', minLength: 1, description: 'Bouncer API key (or apiKeyFile).' },
        apiKeyFile: { type: 'string', description: 'File holding the API key (relative to the config file).' },
        nftSetIPv4: { type: 'string', pattern: NFT_SET, description: 'nft set for IPv4 decisions, "FAMILY TABLE SET" (flags timeout; interval too for ranges).' },
        nftSetIPv6: { type: 'string', pattern: NFT_SET, description: 'nft set for IPv6 decisions (flags interval,timeout).' },
        ipSetIPv4: { type: 'string', pattern: IPSET_NAME, description: 'ipset for IPv4 decisions (instead of nft sets).' },
        ipSetIPv6: { type: 'string', pattern: IPSET_NAME, description: 'ipset for IPv6 decisions.' },
        pollSeconds: { type: 'number', minimum: 0.2, maximum: 3600, description: 'Pause between two reads of the decision stream (default 10).' },
        resyncSeconds: { type: 'number', minimum: 1, maximum: 86400, description: 'Read the whole decision list again this often (default 60): LAPI 1.4 leaves out of its change reads a decision committed just after a read.' },
        scopes: { type: 'array', items: { enum: ['ip', 'range'] }, minItems: 1, description: 'Decision scopes to apply (default ["ip", "range"]).' },
        origins: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Only decisions of these origins (e.g. ["peruse", "crowdsec", "cscli"]); default all.' },
      },
    },
    tls: {
      type: 'object', additionalProperties: false, description: 'TLS to an https:// LAPI.',
      properties: {
        ca: { type: 'string', description: 'PEM file of the CA that signed LAPI\'s certificate.' },
        cert: { type: 'string', description: 'PEM client certificate (LAPI TLS authentication).' },
        key: { type: 'string', description: 'PEM key of the client certificate.' },
        insecureSkipVerify: { type: 'boolean', description: 'Do not check LAPI\'s certificate (tests only).' },
      },
    },
    maxBatch: { type: 'integer', minimum: 1, maximum: 10000, description: 'Most decisions in one POST /v1/alerts (default 1000).' },
    retrySeconds: { type: 'array', items: { type: 'number', minimum: 0.1 }, minItems: 1, description: 'Backoff between attempts while LAPI is unreachable; the last one repeats for ever (default [1, 2, 5, 10, 30]).' },
  },
} as const;

export interface TlsFiles { ca?: string; cert?: string; key?: string; insecureSkipVerify: boolean }

export interface LapiSettings {
  url: string;
  machine?: { login: string; password: string };
  bouncer?: { apiKey: string; backend: 'nft' | 'ipset'; setV4: string; setV6: string; pollMs: number; resyncMs: number; scopes: string[]; origins?: string[] };
  tls: TlsFiles;
  maxBatch: number;
  retryMs: number[];
}

/** The typed `crowdsec` section, secrets read from their files; undefined when the config has none. Throws on an unreadable secret file. */
export function lapiSettings(settings: Settings): LapiSettings | undefined {
  if (settings.rawConfig.crowdsec === undefined) return undefined;
  const section = settings.section<CrowdsecSection>('crowdsec');
  const file = (name: string | undefined) => (name === undefined ? undefined : path.resolve(settings.configDir, name));
  const secret = (inline: string | undefined, fileName: string | undefined, what: string): string | undefined => {
    if (inline !== undefined) return inline;
    const resolved = file(fileName);
    if (resolved === undefined) return undefined;
    try {
      return readFileSync(resolved, 'utf8').trim();
    } catch (e) {
      throw new Error(`crowdsec: cannot read the ${what} file ${resolved}: ${(e as Error).message}`);
    }
  };
  const { machine, bouncer, tls } = section;
  const password = machine ? secret(machine.password, machine.passwordFile, 'machine password') : undefined;
  const apiKey = bouncer ? secret(bouncer.apiKey, bouncer.apiKeyFile, 'bouncer API key') : undefined;
  const nft = bouncer?.nftSetIPv4 !== undefined || bouncer?.nftSetIPv6 !== undefined;
  return {
    url: (section.url ?? '').replace(/\/+$/, ''),
    machine: machine?.login && password ? { login: machine.login, password } : undefined,
    bouncer: bouncer && apiKey ? {
      apiKey,
      backend: nft ? 'nft' : 'ipset',
      setV4: (nft ? bouncer.nftSetIPv4 : bouncer.ipSetIPv4) ?? '',
      setV6: (nft ? bouncer.nftSetIPv6 : bouncer.ipSetIPv6) ?? '',
      pollMs: Math.round((bouncer.pollSeconds ?? 10) * 1000),
      resyncMs: Math.round((bouncer.resyncSeconds ?? 60) * 1000),
      scopes: bouncer.scopes ?? ['ip', 'range'],
      origins: bouncer.origins,
    } : undefined,
    tls: { ca: file(tls?.ca), cert: file(tls?.cert), key: file(tls?.key), insecureSkipVerify: tls?.insecureSkipVerify === true },
    maxBatch: section.maxBatch ?? 1000,
    retryMs: (section.retrySeconds ?? [1, 2, 5, 10, 30]).map((s) => Math.round(s * 1000)),
  };
}
