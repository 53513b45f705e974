// `peruse natfw generate | trace | apply`: argument handling and printing around src/natfw.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { allocate, AllocationInfeasibleError, COMPAT_PORT_RANGE, type Allocation } from '../natfw/allocate.js';
import { ArchiveStore, DEFAULT_ARCHIVE_DIR } from '../natfw/archive.js';
import { activate, applyCurrent, ActivationError, DEFAULT_RELOAD, DEFAULT_VALIDATE, EXIT } from '../natfw/activate.js';
import { connectionsAt, parseConnectionLog, type ConnectionEvent, type ConnectionMatch } from '../natfw/connections.js';
import { eduvpnNetworks } from '../natfw/eduvpn.js';
import { NatfwInputError, formatIpv4, parseIpv4, parseIpv4Network, type Ipv4Network } from '../natfw/ipv4.js';
import { buildManifest, ManifestError, type ConntrackFlush, type ManifestParams } from '../natfw/manifest.js';
import { formatPortRange, parsePortRange, readAutoExclusions, type PortRange } from '../natfw/ports.js';
import { isValidInterfaceName, OUTPUT_FORMATS, renderIptablesTable, renderRules, type OutputFormat } from '../natfw/render.js';
import { parseSecondsOption, parseTraceTime } from '../natfw/time.js';
import { DEFAULT_STALE_MS, TRACE_EXIT_CODES, trace, type StaleLimits, type TraceAnswer } from '../natfw/trace.js';
import { PROTOCOLS, type Protocol } from '../natfw/legacy.js';

const out = (text: string): void => { process.stdout.write(text.endsWith('\n') ? text : `${text}\n`); };
const err = (text: string): void => { process.stderr.write(text.endsWith('\n') ? text : `${text}\n`); };

class UsageError extends Error {}

const USAGE = `usage: peruse natfw generate [options]   compute, validate, load and archive the SNAT port blocks
       peruse natfw trace --time T --public-ip IP --port N [options]   who had that port then
       peruse natfw apply [--archive-dir DIR] [--reload-cmd CMD]         load the current rules (boot)

generate:
  --network CIDR (repeatable) | --eduvpn FILE [--eduvpn-node N]   client networks
  --public IP (repeatable, required)   --out-iface IF (required unless --dry-run --format json)
  --gateway-skip N (1)   --port-range A-B (1024-65535)   --exclude A-B|auto|none (auto, repeatable)
  --align none|pow2   --block-size N   --min-block N (64)   --compat eduvpn-natfw
  --format nft|iptables-chain|iptables-table|json (nft)   --archive-dir DIR (${DEFAULT_ARCHIVE_DIR})
  --reload-cmd CMD (-c)   --validate-cmd CMD   --conntrack-flush changed|all|none (changed)
  --conntrack-cmd CMD (conntrack)   --compat-link PATH (-w)   -n/--dry-run  -f/--force  -v  --json
  exit: 0 ok/unchanged, 2 usage, 3 infeasible, 4 validation failed, 5 reload failed, 6 locked
trace:
  --time T (ISO-8601 with zone, or unix s/ms)  --tz ZONE  --public-ip IP  --port N  --proto tcp|udp|icmp
  --archive-dir DIR (repeatable)  --skew S  --stale tcp=432000,udp=120,icmp=30  --json
  --connection-log FILE (repeatable) | --connections-from-journal [--journal-identifier ID]
  [--connection-lookback S]
  exit: 0 found, 1 ambiguous, 2 usage, 3 no-archive, 4 other misses`;

function parse(argv: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']): Record<string, unknown> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, unknown>;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function integerOption(value: unknown, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(String(value)) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
  return n;
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

// ---------------------------------------------------------------- generate

const GENERATE_OPTIONS = {
  'network': { type: 'string', multiple: true },
  'eduvpn': { type: 'string' },
  'eduvpn-node': { type: 'string' },
  'gateway-skip': { type: 'string' },
  'public': { type: 'string', multiple: true },
  'port-range': { type: 'string' },
  'exclude': { type: 'string', multiple: true },
  'align': { type: 'string' },
  'block-size': { type: 'string' },
  'min-block': { type: 'string' },
  'compat': { type: 'string' },
  'out-iface': { type: 'string' },
  'format': { type: 'string' },
  'archive-dir': { type: 'string' },
  'reload-cmd': { type: 'string', short: 'c' },
  'validate-cmd': { type: 'string' },
  'conntrack-flush': { type: 'string' },
  'conntrack-cmd': { type: 'string' },
  'compat-link': { type: 'string', short: 'w' },
  'dry-run': { type: 'boolean', short: 'n' },
  'force': { type: 'boolean', short: 'f' },
  'verbose': { type: 'boolean', short: 'v' },
  'json': { type: 'boolean' },
  'help': { type: 'boolean', short: 'h' },
} as const;

function resolveExclusions(values: string[] | undefined): { exclusions: PortRange[]; source: ManifestParams['excludeSource'] } {
  const list = values ?? ['auto'];
  if (list.includes('none')) {
    if (list.length > 1) throw new UsageError('--exclude none cannot be combined with other exclusions');
    return { exclusions: [], source: 'none' };
  }
  const exclusions: PortRange[] = [];
  for (const value of list) {
    if (value === 'auto') exclusions.push(...readAutoExclusions());
    else exclusions.push(parsePortRange(value, '--exclude range'));
  }
  return { exclusions, source: list.includes('auto') ? 'auto' : 'explicit' };
}

function summaryOf(allocation: Allocation): string {
  const used = allocation.hostCount * allocation.blockSize;
  const pool = allocation.segments.reduce((sum, s) => sum + s.hi - s.lo + 1, 0) * allocation.publics.length;
  return `${allocation.hostCount} hosts on ${allocation.publics.length} public address(es), blocks of ${allocation.blockSize} ports`
    + ` (pool ${allocation.segments.map(formatPortRange).join(',')}; ${pool - used} of ${pool} ports unused)`;
}

async function generate(argv: string[]): Promise<number> {
  const v = parse(argv, GENERATE_OPTIONS);
  if (v.help) { out(USAGE); return 0; }
  const verbose = v.verbose === true;
  const format = oneOf<OutputFormat>(v.format, 'format', OUTPUT_FORMATS, 'nft');
  const compat = v.compat === undefined ? null : oneOf(v.compat, 'compat', ['eduvpn-natfw'] as const, 'eduvpn-natfw');
  if (compat) {
    const conflicting = ['port-range', 'exclude', 'align', 'block-size'].filter((name) => v[name] !== undefined);
    if (conflicting.length) throw new UsageError(`--compat eduvpn-natfw fixes the pool and block size: drop --${conflicting.join(', --')}`);
  }

  const networks: Ipv4Network[] = ((v.network as string[] | undefined) ?? []).map((text) => parseIpv4Network(text));
  if (typeof v.eduvpn === 'string') {
    let dump: unknown;
    try {
      dump = JSON.parse(readFileSync(v.eduvpn, 'utf8'));
    } catch (error) {
      throw new UsageError(`--eduvpn ${v.eduvpn}: ${(error as Error).message}`);
    }
    const found = eduvpnNetworks(dump, integerOption(v['eduvpn-node'], 'eduvpn-node', 0));
    if (verbose) for (const n of found) err(`eduvpn: ${n.origin} → ${n.network.text}`);
    networks.push(...found.map((n) => n.network));
  }
  const publicTexts = (v.public as string[] | undefined) ?? [];
  const publics = publicTexts.map((text) => {
    const address = parseIpv4(text);
    if (address === undefined) throw new UsageError(`--public ${text} is not an IPv4 address`);
    return address;
  });
  const portRange = compat ? COMPAT_PORT_RANGE : parsePortRange(typeof v['port-range'] === 'string' ? v['port-range'] : '1024-65535', '--port-range');
  const { exclusions, source } = compat ? { exclusions: [], source: 'none' as const } : resolveExclusions(v.exclude as string[] | undefined);
  const align = oneOf(v.align, 'align', ['none', 'pow2'] as const, 'none');
  const blockSize = v['block-size'] === undefined ? undefined : integerOption(v['block-size'], 'block-size', 0, 1);
  const minBlock = integerOption(v['min-block'], 'min-block', 64, 1);
  const gatewaySkip = integerOption(v['gateway-skip'], 'gateway-skip', 1);
  const dryRun = v['dry-run'] === true;
  const outIface = typeof v['out-iface'] === 'string' ? v['out-iface'] : null;
  if (outIface !== null && !isValidInterfaceName(outIface)) throw new UsageError(`--out-iface ${JSON.stringify(outIface)} is not an interface name`);
  if (outIface === null && !(dryRun && format === 'json')) {
    // without it, internal and client-to-client traffic would be SNATted too (seed problem 6)
    throw new UsageError('--out-iface IF is required: the external interface the SNAT applies to');
  }
  const conntrackFlush = oneOf<ConntrackFlush>(v['conntrack-flush'], 'conntrack-flush', ['changed', 'all', 'none'], 'changed');

  const allocation = allocate({ networks, gatewaySkip, publics, portRange, exclusions, align, blockSize, minBlock, compat: compat !== null });
  const params: ManifestParams = {
    networks: networks.map((n) => n.text), gatewaySkip, portRange: formatPortRange(portRange),
    exclude: exclusions.map(formatPortRange), excludeSource: source, align, blockSize: blockSize ?? null, minBlock,
    compat, outIface, format,
  };
  const summary = summaryOf(allocation);
  const blocks = allocation.blocks();
  const ruleInput = { blocks, outIface: outIface ?? '', summary };
  const rules = format === 'json' ? '' : renderRules(format, ruleInput);
  const manifest = buildManifest(allocation, params, rules, conntrackFlush, new Date());

  if (dryRun) {
    out(format === 'json' ? JSON.stringify(manifest, null, 1) : rules);
    err(`dry run: ${summary}; nothing written`);
    return EXIT.ok;
  }
  if (format === 'json' && typeof v['reload-cmd'] !== 'string') {
    throw new UsageError('--format json loads no rules by itself: give --reload-cmd (it receives the manifest as {})');
  }
  const result = await activate({
    archiveDir: typeof v['archive-dir'] === 'string' ? v['archive-dir'] : DEFAULT_ARCHIVE_DIR,
    manifest,
    rules: format === 'json' ? JSON.stringify(manifest, null, 1) : rules,
    format,
    reloadCommand: typeof v['reload-cmd'] === 'string' ? v['reload-cmd'] : DEFAULT_RELOAD[format],
    validateCommand: typeof v['validate-cmd'] === 'string' ? v['validate-cmd'] : DEFAULT_VALIDATE[format],
    conntrackFlush,
    conntrackCommand: typeof v['conntrack-cmd'] === 'string' ? v['conntrack-cmd'] : 'conntrack',
    ...(typeof v['compat-link'] === 'string'
      ? { compatLink: { path: v['compat-link'], force: v.force === true, rules: renderIptablesTable(ruleInput) } } : {}),
    log: verbose ? err : undefined,
  });
  if (v.json) {
    out(JSON.stringify({ ...result, summary }));
  } else if (result.status === 'unchanged') {
    out('unchanged');
    if (verbose) err(`the allocation is the one in ${result.manifestPath}`);
  } else {
    for (const warning of result.warnings) err(`warning: ${warning}`);
    err(`activated ${result.manifestPath} at ${new Date(result.activatedAtMs).toISOString()}: ${summary}`);
    if (verbose) err(`conntrack: ${result.flushedHosts} moved host(s) flushed${result.conntrackFlushed ? '' : ' (not flushed)'}`);
  }
  return EXIT.ok;
}

// ---------------------------------------------------------------- trace

const TRACE_OPTIONS = {
  'time': { type: 'string' },
  'tz': { type: 'string' },
  'public-ip': { type: 'string' },
  'port': { type: 'string' },
  'proto': { type: 'string' },
  'archive-dir': { type: 'string', multiple: true },
  'skew': { type: 'string' },
  'stale': { type: 'string' },
  'json': { type: 'boolean' },
  'connection-log': { type: 'string', multiple: true },
  'connections-from-journal': { type: 'boolean' },
  'journal-identifier': { type: 'string' },
  'connection-lookback': { type: 'string' },
  'help': { type: 'boolean', short: 'h' },
} as const;

export function parseStale(text: string | undefined): StaleLimits {
  const limits = { ...DEFAULT_STALE_MS };
  if (text === undefined) return limits;
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, value] = part.split('=');
    if (!PROTOCOLS.includes(name as Protocol) || value === undefined) throw new UsageError(`--stale: expected proto=seconds, got ${JSON.stringify(part)}`);
    limits[name as Protocol] = parseSecondsOption(value, '--stale');
  }
  return limits;
}

function readJournalConnections(identifier: string, sinceMs: number, untilMs: number): Promise<ConnectionEvent[]> {
  return new Promise((done, fail) => {
    const args = ['-o', 'json', '--no-pager', '-t', identifier, `--since=@${Math.floor(sinceMs / 1000)}`, `--until=@${Math.ceil(untilMs / 1000)}`];
    const child = spawn('journalctl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', fail);
    child.on('close', () => done(parseConnectionLog(Buffer.concat(chunks).toString('utf8'))));
  });
}

function describe(answer: TraceAnswer, connections: Map<string, ConnectionMatch[]>): string {
  const lines: string[] = [];
  const subject = `${answer.public}:${answer.port}/${answer.protocol} at ${answer.time}`;
  const users = (internal: string | null): string[] => (internal ? connections.get(internal) ?? [] : [])
    .map((c) => `  user: ${c.user} (profile ${c.profile}, connection ${c.connection}, from ${c.originatingIp ?? '?'}, connected ${c.connectedAt})`);
  switch (answer.status) {
    case 'found': lines.push(`found: ${answer.internal} had ${subject}`); break;
    case 'ambiguous': lines.push(`ambiguous: more than one internal address may have had ${subject}`); break;
    case 'no-archive': lines.push(`no-archive: no allocation was archived before ${answer.time}`); break;
    case 'unknown-public-ip': lines.push(`unknown-public-ip: ${answer.public} is not a public address of the allocation`); break;
    case 'unassigned-port': lines.push(`unassigned-port: no host had port ${answer.port} on ${answer.public}`); break;
    case 'protocol-not-port-mapped': lines.push(`protocol-not-port-mapped: ${answer.protocol} was not confined to port blocks by that archive`); break;
  }
  if (answer.archive) lines.push(`  archive: ${answer.archive} (in force since ${answer.archiveTime})`);
  if (answer.block) lines.push(`  block: ${answer.block[0]}-${answer.block[1]}`);
  if (answer.status === 'found') lines.push(...users(answer.internal));
  for (const c of answer.candidates ?? []) {
    lines.push(`  candidate (${c.reason}): ${c.internal ?? c.status} from ${c.archive} (${c.archiveTime})${c.block ? ` block ${c.block[0]}-${c.block[1]}` : ''}`);
    if (answer.status === 'ambiguous') lines.push(...users(c.internal).map((l) => `  ${l}`));
  }
  return lines.join('\n');
}

async function traceCommand(argv: string[]): Promise<number> {
  const v = parse(argv, TRACE_OPTIONS);
  if (v.help) { out(USAGE); return 0; }
  for (const required of ['time', 'public-ip', 'port']) if (typeof v[required] !== 'string') throw new UsageError(`--${required} is required`);
  const timeMs = parseTraceTime(v.time as string, typeof v.tz === 'string' ? v.tz : undefined);
  const publicAddress = parseIpv4(v['public-ip'] as string);
  if (publicAddress === undefined) throw new UsageError(`--public-ip ${v['public-ip'] as string} is not an IPv4 address`);
  const port = integerOption(v.port, 'port', 0);
  if (port > 65535) throw new UsageError('--port must be ≤ 65535');
  const protocol = oneOf<Protocol>(v.proto, 'proto', PROTOCOLS, 'tcp');
  const skewMs = v.skew === undefined ? 0 : parseSecondsOption(v.skew as string, '--skew');
  const staleMs = parseStale(v.stale as string | undefined);
  const dirs = (v['archive-dir'] as string[] | undefined) ?? [DEFAULT_ARCHIVE_DIR];

  const answer = trace(new ArchiveStore(dirs), { timeMs, publicIp: formatIpv4(publicAddress), port, protocol, skewMs, staleMs });

  const connections = new Map<string, ConnectionMatch[]>();
  const logs = (v['connection-log'] as string[] | undefined) ?? [];
  if (logs.length || v['connections-from-journal']) {
    const events: ConnectionEvent[] = logs.flatMap((file) => parseConnectionLog(readFileSync(file, 'utf8')));
    if (v['connections-from-journal']) {
      const lookback = parseSecondsOption(typeof v['connection-lookback'] === 'string' ? v['connection-lookback'] : '31d', '--connection-lookback');
      events.push(...await readJournalConnections(
        typeof v['journal-identifier'] === 'string' ? v['journal-identifier'] : 'vpn-user-portal', timeMs - skewMs - lookback, timeMs + skewMs));
    }
    const internals = new Set([answer.internal, ...(answer.candidates ?? []).map((c) => c.internal)].filter((x): x is string => x !== null));
    for (const internal of internals) connections.set(internal, connectionsAt(events, internal, timeMs));
  }

  if (v.json) {
    const withUsers = connections.size ? { connections: Object.fromEntries(connections) } : {};
    out(JSON.stringify({ ...answer, ...withUsers }));
  } else {
    out(describe(answer, connections));
  }
  return TRACE_EXIT_CODES[answer.status];
}

// ---------------------------------------------------------------- apply

async function applyCommand(argv: string[]): Promise<number> {
  const v = parse(argv, { 'archive-dir': { type: 'string' }, 'reload-cmd': { type: 'string', short: 'c' }, 'help': { type: 'boolean', short: 'h' } });
  if (v.help) { out(USAGE); return 0; }
  const archiveDir = typeof v['archive-dir'] === 'string' ? v['archive-dir'] : DEFAULT_ARCHIVE_DIR;
  const result = await applyCurrent({ archiveDir, reloadCommand: typeof v['reload-cmd'] === 'string' ? v['reload-cmd'] : null });
  if (result.status === 'nothing') err(`natfw apply: no current allocation in ${archiveDir}: nothing to load`);
  else err(`natfw apply: loaded ${result.rulesPath}`);
  return EXIT.ok;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'generate': return await generate(rest);
      case 'trace': return await traceCommand(rest);
      case 'apply': return await applyCommand(rest);
      case undefined: case 'help': case '--help': case '-h':
        out(USAGE);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        err(`peruse natfw: unknown subcommand ${JSON.stringify(command)}\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof NatfwInputError) {
      err(`peruse natfw ${command}: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof AllocationInfeasibleError) {
      err(`peruse natfw ${command}: ${error.message}; nothing written`);
      return EXIT.infeasible;
    }
    if (error instanceof ActivationError) {
      err(`peruse natfw ${command}: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof ManifestError) {
      err(`peruse natfw ${command}: damaged archive: ${error.message}`);
      return command === 'trace' ? 4 : EXIT.usage;
    }
    throw error;
  }
}
