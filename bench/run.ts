// npm run bench [-- --json] [--entries N] [--only core,dnat,state,journal,restore,attack,memory,startup,config,crowdsec,fail2ban]: throughput, scale, restore, memory and startup,
// all measured in the same run on this machine. Corpora are generated once into .bench/.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeServices, EntryClock } from '../src/cli/services.js';
import { openConfig } from '../src/cli/setup.js';
import { makeByteDecoder } from '../src/journal/fields.js';
import { workflowRate, type WorkflowHooks } from './batches.js';
import { configCompileSeconds } from './config.js';
import { crowdsecFigures } from './crowdsec.js';
import { measureStartup } from './startup.js';
import { daemonPeakRss, journalOf, liveAttackJournal, reportSendPeakRss } from './memory.js';
import { journalFilesOf, NativeJournal } from '../src/journal/native/reader.js';
import { fieldsRead, type Program } from '../src/workflow/program.js';
import { createLogger } from '../src/system/log.js';
import { DnatTable } from '../src/state/dnat.js';
import { CounterStore } from '../src/state/counters.js';
import type { State } from '../src/state/state.js';
import { fail2banBench } from './fail2ban.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = path.join(root, '.bench');
const peruse = path.join(root, 'bin/peruse.js');
const generator = '/work/shared/corpus/gen-corpus.mjs';
const benchConfig = '/work/shared/corpus/bench-config.json';
const fixture = '/work/shared/fixtures/pyruse-full-example.json';

const { values } = parseArgs({ options: { json: { type: 'boolean' }, entries: { type: 'string' }, only: { type: 'string' } } });
const ENTRIES = Number(values.entries ?? 1_000_000);
const only = values.only?.split(',');
const want = (name: string) => !only || only.includes(name);

interface Row { name: string; value: number; unit: string; target?: string; ok?: boolean; note?: string }
const rows: Row[] = [];
const row = (r: Row) => { rows.push(r); if (!values.json) process.stderr.write(`  ${r.name}: ${r.value} ${r.unit}${r.note ? ` (${r.note})` : ''}\n`); };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const all = (xs: number[]) => `runs: ${xs.join(', ')}`;
/** Live DNAT mappings added for the scale measure: far more than the DNAT-heavy corpus ever holds. */
const PREFILLED_MAPPINGS = 200_000;

function corpus(name: string, extra: string[], format = 'json'): string {
  const file = path.join(work, `${name}.${format === 'json' ? 'jsonl' : format}`);
  if (!existsSync(file)) {
    process.stderr.write(`generating ${file}…\n`);
    execFileSync('node', [generator, '--entries', String(ENTRIES), '--seed', '1', '--format', format, '--out', file, '--truth', path.join(work, `${name}.truth.json`), ...extra]);
  }
  return file;
}

/** `peruse replay --dry-run --stats` in a child process: the user-visible figure. */
function replayStats(args: string[], env: Record<string, string> = {}): { entriesPerSecond: number; seconds: number; maxRssMB: number; entries: number } {
  const result = spawnSync('node', [peruse, 'replay', '--config', benchConfig, '--dry-run', '--stats', ...args], { cwd: work, encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`replay failed: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stderr.trim().split('\n').pop()!);
}

/** The bench config's workflow alone over `file` (see workflowOnly), in entries/s. */
const workflowOnly = (file: string, hooks: WorkflowHooks = {}): Promise<number> => workflowRate(benchConfig, file, hooks);

/** Live DNAT mappings on addresses the corpus never uses, added before its first batch, live for the whole corpus (2^11 s buckets). */
function prefilledMappings(count: number): WorkflowHooks {
  let state: State | undefined;
  return {
    prepare(_program, made) { state = made; },
    beforeBatch(batch) {
      if (state === undefined) return;
      const start = batch[0]!.__REALTIME_TIMESTAMP as number;
      for (let i = 0; i < count; i++) {
        state.dnat.capture({ saddr: `198.51.${i >> 8 & 255}.${i & 255}`, sport: String(i), addr: `10.255.${i >> 16}.${i >> 8 & 255}`, port: String(1024 + (i & 255)), daddr: undefined, dport: '22' }, start, 11);
      }
      state = undefined;
    },
  };
}

/** The DNAT steps of the bench config, and what its dnatReplace steps wrote into each entry (by position in the corpus). */
interface DnatOutcomes { captures: Set<string>; replaces: Map<string, string[]>; written: Map<number, [string, unknown][]>; hits: Float64Array }
const ORACLE_FIELD = 'benchDnatOutcome';

/** Labels (`chain[i]`) of the bench config's steps calling `module`, with their args. */
function stepsOf(module: string): { label: string; args: Record<string, unknown> }[] {
  const config = JSON.parse(readFileSync(benchConfig, 'utf8')) as { actions: Record<string, { action?: string; args?: Record<string, unknown> }[]> };
  return Object.entries(config.actions).flatMap(([chain, steps]) => steps.flatMap((step, i) => step.action === module ? [{ label: `${chain}[${i}]`, args: step.args ?? {} }] : []));
}

/** The free-DNAT run must take every other step exactly as the real run did, or its figure means nothing. */
function checkSameHits(program: Program, outcomes: DnatOutcomes): void {
  for (let i = 0; i < program.size; i++) {
    const label = program.labels[i]!;
    if (outcomes.captures.has(label) || outcomes.replaces.has(label)) continue;
    if (program.hits[i] !== outcomes.hits[i]) throw new Error(`free-DNAT run: step ${label} reached ${program.hits[i]} times, ${outcomes.hits[i]} in the real run`);
  }
}

/** Runs the corpus once and records what every dnatReplace step wrote (the real client address and port), by entry position. */
async function dnatOutcomesOf(file: string): Promise<DnatOutcomes> {
  const outcomes: DnatOutcomes = {
    captures: new Set(stepsOf('action_dnatCapture').map((s) => s.label)),
    replaces: new Map(stepsOf('action_dnatReplace').map((s) => [s.label, [s.args.saddrInto, s.args.sportInto].filter((f): f is string => typeof f === 'string')])),
    written: new Map(),
    hits: new Float64Array(0),
  };
  let position = 0;
  await workflowOnly(file, {
    prepare(program) {
      for (let i = 0; i < program.size; i++) {
        const fields = outcomes.replaces.get(program.labels[i]!);
        const action = program.actions[i];
        if (!fields || !action) continue;
        program.actions[i] = { act(entry) {
          action.act(entry);
          outcomes.written.set(entry[ORACLE_FIELD] as number, fields.map((f) => [f, entry[f]]));
        } };
      }
    },
    beforeBatch(batch) { for (const entry of batch) entry[ORACLE_FIELD] = position++; },
    after(program) { outcomes.hits = program.hits.slice(); },
  });
  return outcomes;
}

/**
 * Capture and replace at no cost: captures do nothing, and a replace writes what the real one wrote
 * (carried by the entry, untimed): the rest of the workflow runs as before, which `after` checks.
 * The gap to the real run is what capture and replace cost; the ratio to the default corpus is the
 * best any DNAT table could give.
 */
function freeDnat(outcomes: DnatOutcomes): WorkflowHooks {
  let position = 0;
  return {
    prepare(program) {
      for (let i = 0; i < program.size; i++) {
        const label = program.labels[i]!;
        if (outcomes.captures.has(label)) program.actions[i] = { act() {} };
        else if (outcomes.replaces.has(label)) {
          program.actions[i] = { act(entry) {
            const outcome = entry[ORACLE_FIELD] as [string, unknown][] | undefined;
            if (outcome) for (const [field, value] of outcome) if (value !== undefined) entry[field] = value;
          } };
        }
      }
    },
    beforeBatch(batch) {
      for (const entry of batch) {
        const outcome = outcomes.written.get(position++);
        if (outcome) entry[ORACLE_FIELD] = outcome;
      }
    },
    after: (program) => checkSameHits(program, outcomes),
  };
}

function journalDir(file: string): string {
  const dir = path.join(work, 'journal-default');
  if (!existsSync(path.join(dir, 'remote.journal'))) {
    mkdirSync(dir, { recursive: true });
    const remote = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find(existsSync);
    if (!remote) throw new Error('systemd-journal-remote is not installed');
    execFileSync('sh', ['-c', `"${remote}" -o "${dir}/remote.journal" - < "${file}"`], { stdio: 'ignore' });
  }
  return dir;
}

/** Seconds for the in-process reader alone to hand out every entry of the directory, decoding what the bench config reads. */
async function nativeReadSeconds(dir: string): Promise<{ seconds: number; entries: number }> {
  const services = makeServices({ log: createLogger({ quiet: true }), clock: new EntryClock(), dryRun: true, persist: false, onEffect: () => {} });
  const opened = await openConfig(benchConfig, services);
  if (!opened.program) throw new Error('bench config does not build');
  const started = performance.now();
  const journal = NativeJournal.open(journalFilesOf({ directory: dir }), { decode: makeByteDecoder(opened.settings.encoding), wanted: fieldsRead(opened.program) });
  journal.seekHead();
  let entries = 0;
  while (journal.next() !== undefined) entries++;
  journal.close();
  return { seconds: (performance.now() - started) / 1000, entries };
}

function seconds(command: string[], options: { cwd?: string } = {}): number {
  const started = performance.now();
  const result = spawnSync(command[0]!, command.slice(1), { ...options, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed: ${result.stderr.slice(-1000)}`);
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  mkdirSync(work, { recursive: true });
  process.stderr.write(`peruse bench, ${ENTRIES} entries per corpus, node ${process.version}\n`);

  if (want('core') || want('dnat')) {
    const defaultCorpus = corpus('default', []);
    const replays = [0, 1, 2].map(() => replayStats(['--input', defaultCorpus]).entriesPerSecond);
    const replayDefault = median(replays);
    row({ name: 'core.replayJsonl', value: replayDefault, unit: 'entries/s', target: '>= 400000', ok: replayDefault >= 400_000, note: `median, ${all(replays)}` });
    if (!want('dnat')) {
      const workflowDefault = await workflowOnly(defaultCorpus);
      row({ name: 'core.workflowOnly', value: workflowDefault, unit: 'entries/s', target: '>= 1000000', ok: workflowDefault >= 1_000_000 });
    } else {
      const heavy = corpus('dnat-heavy', ['--hours', '0.25', '--attackers', '8000']);
      // each heavy replay right after a default one: the pair sees the same VM speed
      const heavyReplays: number[] = [], replayRatios: number[] = [];
      for (let round = 0; round < 3; round++) {
        const d = round === 0 ? replays[2]! : replayStats(['--input', defaultCorpus]).entriesPerSecond;
        const h = replayStats(['--input', heavy]).entriesPerSecond;
        heavyReplays.push(h);
        replayRatios.push(Number((h / d).toFixed(2)));
      }
      row({ name: 'dnat.replayJsonl', value: median(heavyReplays), unit: 'entries/s', note: `median, ${all(heavyReplays)}` });
      row({ name: 'dnat.ratioReplay', value: median(replayRatios), unit: 'x', note: `within a round, median; ${all(replayRatios)}` });
      // this VM drifts within minutes: the corpora alternate over three rounds, each ratio is taken
      // within its round, and the medians are reported
      const rounds = { default: [] as number[], heavy: [] as number[], prefilled: [] as number[], ratio: [] as number[], prefilledRatio: [] as number[],
        freeDnat: [] as number[], freeDnatRatio: [] as number[], dnatShare: [] as number[] };
      const outcomes = await dnatOutcomesOf(heavy);
      for (let round = 0; round < 3; round++) {
        const d = await workflowOnly(defaultCorpus);
        const h = await workflowOnly(heavy);
        // the free run right after the real one: the share compares the two
        const f = await workflowOnly(heavy, freeDnat(outcomes));
        const p = await workflowOnly(heavy, prefilledMappings(PREFILLED_MAPPINGS));
        rounds.default.push(d); rounds.heavy.push(h); rounds.prefilled.push(p); rounds.freeDnat.push(f);
        rounds.ratio.push(Number((h / d).toFixed(2)));
        rounds.prefilledRatio.push(Number((p / h).toFixed(2)));
        rounds.freeDnatRatio.push(Number((f / d).toFixed(2)));
        // share of the heavy run's time spent in capture and replace (times are 1 / rates)
        rounds.dnatShare.push(Number(Math.max(0, 1 - h / f).toFixed(2)));
      }
      const workflowDefault = median(rounds.default);
      row({ name: 'core.workflowOnly', value: workflowDefault, unit: 'entries/s', target: '>= 1000000', ok: workflowDefault >= 1_000_000, note: all(rounds.default) });
      row({ name: 'dnat.workflowOnly', value: median(rounds.heavy), unit: 'entries/s', note: all(rounds.heavy) });
      const ratio = median(rounds.ratio);
      row({ name: 'dnat.ratioWorkflow', value: ratio, unit: 'x', target: '>= 0.8', ok: ratio >= 0.8, note: `dnat-heavy / default within a round; ${all(rounds.ratio)}` });
      row({ name: 'dnat.workflowPrefilled', value: median(rounds.prefilled), unit: 'entries/s', note: `dnat-heavy with ${PREFILLED_MAPPINGS} more live mappings; ${all(rounds.prefilled)}` });
      row({ name: 'dnat.ratioFreeDnat', value: median(rounds.freeDnatRatio), unit: 'x', note: `dnat-heavy with capture and replace at no cost / default: the best ratio any DNAT table could give; ${all(rounds.freeDnatRatio)}` });
      row({ name: 'dnat.captureReplaceShare', value: median(rounds.dnatShare), unit: 'x', note: `part of the dnat-heavy workflow time spent in capture and replace; ${all(rounds.dnatShare)}` });
      row({ name: 'dnat.ratioPrefilled', value: median(rounds.prefilledRatio), unit: 'x', note: `the same corpus with ${PREFILLED_MAPPINGS} more live mappings / without: capture and replace do not scan; ${all(rounds.prefilledRatio)}` });
    }
  }

  if (want('state')) {
    // per operation, with few and with a million live keys: the same cost means no scan
    // (a bigger table costs more memory latency per probe, never a scan: 100k → 1M is not 10×)
    for (const live of [1_000, 100_000, 1_000_000]) {
      const { capture, lookup, raise } = stateCosts(live);
      const tag = live === 1_000_000 ? '1M' : `${live / 1000}k`;
      row({ name: `state.dnatCapture${tag}`, value: capture, unit: 'µs', note: `${live} live mappings` });
      row({ name: `state.dnatLookup${tag}`, value: lookup, unit: 'µs', note: `${live} live mappings` });
      row({ name: `state.counterRaise${tag}`, value: raise, unit: 'µs', note: `${live} live keys` });
    }
  }

  if (want('journal')) {
    const exportFile = corpus('default', [], 'export');
    const dir = journalDir(exportFile);
    // this VM's speed drifts by ±20 % within minutes: the three measures alternate, three rounds,
    // and each figure is the median of its round
    const rounds = { journalctl: [] as number[], pipe: [] as number[], replay: [] as number[], startToEnd: [] as number[], follow: [] as number[], startup: [] as number[], ratio: [] as number[],
      native: [] as number[], nativeRatio: [] as number[], followJournalctl: [] as number[], ratioJournalctl: [] as number[] };
    const entries = Number(execFileSync('sh', ['-c', `journalctl --directory "${dir}" --header | awk '/^Entry objects:/ {n += $3} END {print n}'`], { encoding: 'utf8' }).trim());
    for (let round = 0; round < 3; round++) {
      // journalctl alone, then peruse right after it: the pair sees the same VM speed
      const journalctlSeconds = seconds(['sh', '-c', `journalctl -o export --merge --directory "${dir}" > /dev/null`]);
      const follow = await daemonFollow(dir, entries);
      const native = await nativeReadSeconds(dir);
      if (native.entries !== entries) throw new Error(`the in-process reader gave ${native.entries} entries, journalctl --header counts ${entries}`);
      // the same daemon with journalctl reading the backlog too (journal.reader "journalctl")
      const followJournalctl = await daemonFollow(dir, entries, 'journalctl');
      // what writing into a pipe (instead of /dev/null) costs journalctl itself: the ceiling of any reader
      const pipeSeconds = seconds(['sh', '-c', `journalctl -o export --merge --directory "${dir}" | cat > /dev/null`]);
      const replay = replayStats(['--journal-dir', dir]);
      rounds.journalctl.push(Math.round(entries / journalctlSeconds));
      rounds.pipe.push(Math.round(entries / pipeSeconds));
      rounds.replay.push(replay.entriesPerSecond);
      rounds.startToEnd.push(Math.round(entries / follow.seconds));
      rounds.follow.push(follow.rate);
      rounds.startup.push(follow.startup);
      rounds.ratio.push(Number((follow.rate / (entries / journalctlSeconds)).toFixed(2)));
      rounds.native.push(Math.round(entries / native.seconds));
      rounds.nativeRatio.push(Number((journalctlSeconds / native.seconds).toFixed(2)));
      rounds.followJournalctl.push(followJournalctl.rate);
      rounds.ratioJournalctl.push(Number((followJournalctl.rate / (entries / journalctlSeconds)).toFixed(2)));
    }
    const journalctlRate = median(rounds.journalctl);
    row({ name: 'journal.journalctlExport', value: journalctlRate, unit: 'entries/s', note: all(rounds.journalctl) });
    const pipeRate = median(rounds.pipe);
    row({ name: 'journal.journalctlPipe', value: pipeRate, unit: 'entries/s', note: `journalctl | cat, ${all(rounds.pipe)}` });
    row({ name: 'journal.pipeCeiling', value: Number((pipeRate / journalctlRate).toFixed(2)), unit: 'x', note: 'journalctl into a pipe / into /dev/null' });
    row({ name: 'journal.peruse', value: median(rounds.replay), unit: 'entries/s', note: `peruse replay --journal-dir, ${all(rounds.replay)}` });
    row({ name: 'journal.replayRatio', value: Number((median(rounds.replay) / journalctlRate).toFixed(2)), unit: 'x' });
    row({ name: 'journal.daemonStartToEnd', value: median(rounds.startToEnd), unit: 'entries/s', note: `peruse run catching up ${entries} entries, start-up (${median(rounds.startup)} s) included` });
    const followRate = median(rounds.follow);
    row({ name: 'journal.daemonFollow', value: followRate, unit: 'entries/s', note: `peruse run, from its first entry to its last, ${all(rounds.follow)}` });
    const ratio = median(rounds.ratio);
    row({ name: 'journal.ratio', value: ratio, unit: 'x', target: '>= 0.9', ok: ratio >= 0.9, note: `peruse run / journalctl of the same round, median; ${all(rounds.ratio)}` });
    row({ name: 'journal.nativeReader', value: median(rounds.native), unit: 'entries/s', note: `the in-process reader alone (bench-config fields), ${all(rounds.native)}` });
    row({ name: 'journal.nativeRatio', value: median(rounds.nativeRatio), unit: 'x', note: `in-process reader / journalctl -o export > /dev/null, same round; ${all(rounds.nativeRatio)}` });
    row({ name: 'journal.daemonFollowJournalctl', value: median(rounds.followJournalctl), unit: 'entries/s', note: `peruse run with journal.reader "journalctl", ${all(rounds.followJournalctl)}` });
    row({ name: 'journal.ratioJournalctl', value: median(rounds.ratioJournalctl), unit: 'x', note: `the same / journalctl of the same round; ${all(rounds.ratioJournalctl)}` });
  }

  if (want('restore')) {
    for (const backend of ['nft', 'ipset'] as const) {
      try {
        const figure = restoreSeconds(backend);
        row({ name: `restore.${backend}20000`, value: figure, unit: 's', target: '< 1', ok: figure < 1 });
      } catch (e) {
        row({ name: `restore.${backend}20000`, value: NaN, unit: 's', note: (e as Error).message.slice(0, 200) });
      }
    }
  }

  if (want('restore') || want('attack')) {
    try {
      const attack = attackBanRate();
      row({ name: 'bans.attackReplay', value: attack.seconds, unit: 's', note: `${attack.bans} bans from 8 000 attackers in 15 min, ${attack.commands} nft commands, real nft` });
      row({ name: 'bans.attackRate', value: Math.round(attack.bans / attack.seconds), unit: 'bans/s' });
    } catch (e) {
      row({ name: 'bans.attackReplay', value: NaN, unit: 's', note: (e as Error).message.slice(0, 200) });
    }
  }

  if (want('memory')) {
    const attack = corpus('attack-100k', ['--attackers', '100000']);
    // as the systemd unit runs it (examples/systemd/peruse.service sets this heap cap)…
    const capped = replayStats(['--input', attack], { NODE_OPTIONS: '--max-old-space-size=128 --max-semi-space-size=4' });
    row({ name: 'memory.peakRss', value: capped.maxRssMB, unit: 'MB', target: '< 150', ok: capped.maxRssMB < 150, note: '100 000 attackers, heap cap of the unit' });
    // …and with V8's default heap growth
    const uncapped = replayStats(['--input', attack]);
    row({ name: 'memory.peakRssNoCap', value: uncapped.maxRssMB, unit: 'MB', note: 'V8 default heap growth' });
  }

  if (want('startup')) {
    for (const r of measureStartup(root, fixture)) row(r);
  }

  if (want('config')) {
    const small = await configCompileSeconds(1000, path.join(work, 'config'));
    const large = await configCompileSeconds(8000, path.join(work, 'config'));
    row({ name: 'config.compile1000Chains', value: Number(small.seconds.toFixed(3)), unit: 's', note: `${small.steps} steps, best of 3` });
    row({ name: 'config.compile8000Chains', value: Number(large.seconds.toFixed(3)), unit: 's', note: `${large.steps} steps, best of 3` });
    const growth = Number((large.seconds / small.seconds).toFixed(1));
    row({ name: 'config.growth8x', value: growth, unit: '×', target: '< 12 (linear: 8)', ok: growth < 12, note: '8 000 chains / 1 000 chains' });
  }

  if (want('crowdsec')) {
    try {
      const f = await crowdsecFigures();
      row({ name: 'crowdsec.latencyMedian', value: f.latencyMedianMs, unit: 'ms', note: `log line on A → element in B's nft set through a real LAPI, B polling every 1 s; ${f.samples} samples` });
      row({ name: 'crowdsec.latencyP99', value: f.latencyP99Ms, unit: 'ms' });
      row({ name: 'crowdsec.burst10000', value: f.burstSeconds, unit: 's', note: `${f.burstDecisions} decisions published until LAPI acknowledged all: ${f.burstLapiCalls} LAPI calls (${f.burstPosts} POST /v1/alerts, login included)` });
      row({ name: 'crowdsec.burst10000InB', value: f.burstInBSeconds, unit: 's', note: 'until B\'s nft set holds them all' });
    } catch (e) {
      row({ name: 'crowdsec.latencyMedian', value: NaN, unit: 'ms', note: (e as Error).message.slice(0, 200) });
    }
  }

  if (want('memory')) {
    // the daemon itself over the same attack, and the report of a big attack day, as the unit runs them
    const attackJournal = journalOf(corpus('attack-100k', ['--attackers', '100000'], 'export'), path.join(work, 'journal-attack-100k'));
    const run = await daemonPeakRss(attackJournal, path.join(work, 'daemon-memory'), ENTRIES);
    row({ name: 'memory.runPeakRss', value: run.peakRssMB, unit: 'MB', target: '< 150', ok: run.peakRssMB < 150, note: `peruse run over the attack-100k journal, real nft in a netns, heap flags of the unit (${run.seconds} s)` });
    // the same attack ending now: its bans hold (store, sets), and the report of the day before is sent mid-run
    const live = await daemonPeakRss(liveAttackJournal(work, ENTRIES), path.join(work, 'daemon-memory-live'), ENTRIES);
    row({ name: 'memory.runPeakRssLive', value: live.peakRssMB, unit: 'MB', target: '< 150', ok: live.peakRssMB < 150, note: `the same attack ending now: live bans, a report sent at midnight (${live.seconds} s)` });
    const report = await reportSendPeakRss(path.join(work, 'report-memory'), 30_000, 200_000);
    row({ name: 'memory.reportSendPeakRss', value: report.peakRssMB, unit: 'MB', target: '< 150', ok: report.peakRssMB < 150, note: `peruse report --send of a 30 000-attacker day (${report.records} records) to SMTP on loopback, heap flags of the unit (${report.seconds} s)` });
  }

  if (want('fail2ban')) {
    fail2banBench(work, peruse, row);
  }

  if (values.json) process.stdout.write(JSON.stringify(rows, null, 1) + '\n');
  else {
    const width = Math.max(...rows.map((r) => r.name.length));
    process.stdout.write(`\n${'measure'.padEnd(width)}  ${'value'.padStart(12)}  unit        target      met\n`);
    for (const r of rows) {
      process.stdout.write(`${r.name.padEnd(width)}  ${String(r.value).padStart(12)}  ${r.unit.padEnd(10)}  ${(r.target ?? '').padEnd(10)}  ${r.ok === undefined ? '' : r.ok ? 'yes' : 'NO'}${r.note ? `  ${r.note}` : ''}\n`);
    }
  }
}

/** An empty directory `name` in .bench/. */
function freshDir(name: string): string {
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs `body` with a fresh network namespace (never the host's firewall), deleted afterwards. */
function inNetns<T>(tag: string, body: (inNs: string[]) => T): T {
  const ns = `peruse-bench-${tag}-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    return body(['ip', 'netns', 'exec', ns]);
  } finally {
    spawnSync('ip', ['netns', 'delete', ns]);
  }
}

const SSH_BAN_TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags timeout; }; }\n';

/** bench-config.json with `overrides` and its storage in `dir`, written there; returns its path. */
function benchConfigIn(dir: string, overrides: Record<string, unknown>): string {
  const config = { ...(JSON.parse(readFileSync(benchConfig, 'utf8')) as Record<string, unknown>), storage: path.join(dir, 'storage'), ...overrides };
  const file = path.join(dir, 'peruse.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/**
 * The attack corpus of the bans test (20 000 entries, 8 000 attackers in 15 minutes) replayed for
 * real through bench-config.json, nft in a fresh network namespace: how fast bans reach the kernel.
 */
function attackBanRate(): { seconds: number; bans: number; commands: number } {
  const dir = freshDir('attack-bans');
  execFileSync('node', [generator, '--entries', '20000', '--hours', '0.25', '--attackers', '8000', '--seed', '1', '--format', 'json', '--out', path.join(dir, 'corpus.jsonl'), '--truth', path.join(dir, 'truth.json')]);
  return inNetns('attack', (inNs) => {
    execFileSync(inNs[0]!, [...inNs.slice(1), 'nft', '-f', '-'], { input: SSH_BAN_TABLES });
    // counts the commands, then runs the real nft in the namespace
    const config = benchConfigIn(dir, { nftBan: { nft: ['sh', '-c', 'echo >> commands.log; exec "$0" "$@"', ...inNs, 'nft'] } });
    const elapsed = seconds(['node', peruse, 'replay', '--config', config, '--input', path.join(dir, 'corpus.jsonl')], { cwd: dir });
    const expected = (JSON.parse(readFileSync(path.join(dir, 'truth.json'), 'utf8')) as { expectedBans: string[] }).expectedBans.length;
    const listed = execFileSync(inNs[0]!, [...inNs.slice(1), 'nft', 'list', 'ruleset'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const bans = (listed.match(/ expires /g) ?? []).length;
    if (bans !== expected) throw new Error(`${bans} elements in the sets, truth expects ${expected}`);
    const commands = readFileSync(path.join(dir, 'commands.log'), 'utf8').split('\n').length - 1;
    return { seconds: Number(elapsed.toFixed(2)), bans, commands };
  });
}

/**
 * `peruse run` following the journal directory from its first entry (journal.since), its metrics
 * polled every 50 ms: the whole time from the spawn, and the rate from the first entries counted
 * to the last.
 */
async function daemonFollow(dir: string, entries: number, reader: 'auto' | 'journalctl' = 'auto'): Promise<{ seconds: number; startup: number; rate: number }> {
  const runDir = freshDir('daemon-follow');
  const port = 20000 + (process.pid % 20000);
  const email = (JSON.parse(readFileSync(benchConfig, 'utf8')) as { email?: object }).email;
  const config = benchConfigIn(runDir, {
    journal: { directory: dir, since: '1970-01-01 00:00:00', reader },
    metrics: { port, host: '127.0.0.1' },
    // the bench config bans and mails: no real firewall or mail here
    nftBan: { nft: ['/bin/true'] },
    email: { ...email, sendmail: ['/bin/true'] },
  });
  const started = performance.now();
  const child = spawn('node', [peruse, 'run', '--config', config], { cwd: runDir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  let first: { at: number; seen: number } | undefined;
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      if (child.exitCode !== null) throw new Error(`peruse run exited: ${stderr.slice(-1000)}`);
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => '');
      const seen = Number(/^peruse_entries_total (\d+)/m.exec(text)?.[1] ?? 0);
      const now = performance.now();
      if (seen > 0 && first === undefined) first = { at: now, seen };
      if (seen >= entries) {
        const rate = Math.round((seen - first!.seen) / ((now - first!.at) / 1000));
        return { seconds: Number(((now - started) / 1000).toFixed(3)), startup: Number(((first!.at - started) / 1000).toFixed(2)), rate };
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
}

/** µs per DNAT capture, DNAT lookup and counter raise once `live` mappings/keys exist. */
function stateCosts(live: number): { capture: number; lookup: number; raise: number } {
  const S = 1_000_000;
  const table = new DnatTable();
  table.limitMappings(2 * live);
  const index = table.index(['addr', 'port']);
  const values = (i: number) => ({ saddr: `203.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, sport: undefined, addr: '10.0.0.1', port: String(i), daddr: undefined, dport: undefined });
  for (let i = 0; i < live; i++) table.capture(values(i), 0, 20);
  const counters = new CounterStore();
  counters.limitKeys(2 * live);
  const counter = counters.counter('bench');
  for (let i = 0; i < live; i++) counter.raise(`k${i}`, 0, 3600 * S);
  const n = 200_000;
  const time = (f: (i: number) => void) => { const t = performance.now(); for (let i = 0; i < n; i++) f(i); return Number((((performance.now() - t) * 1000) / n).toFixed(3)); };
  const capture = time((i) => table.capture(values(live + i), 1, 20));
  const lookup = time((i) => { index.lookup(`10.0.0.1\u0000${(i * 7919) % live}`, 2); });
  const raise = time((i) => counter.raise(`k${(i * 7919) % live}`, 3, 3600 * S));
  return { capture, lookup, raise };
}

/** 20 000 stored bans restored by `peruse bans restore` into a set in a fresh network namespace. */
function restoreSeconds(backend: 'nft' | 'ipset'): number {
  const dir = freshDir(`restore-${backend}`);
  return inNetns(`restore-${backend}`, (inNs) => {
    const config = backend === 'nft'
      ? { actions: { A: [{ action: 'action_nftBan', args: { IP: 'ip', banSeconds: 86400, nftSetIPv4: 'ip Inet4 ssh_ban', nftSetIPv6: 'ip6 Inet6 ssh_ban' } }] }, storage: dir, nftBan: { nft: [...inNs, 'nft'] } }
      : { actions: { A: [{ action: 'action_ipsetBan', args: { IP: 'ip', banSeconds: 86400, ipSetIPv4: 'ssh_ban4', ipSetIPv6: 'ssh_ban6' } }] }, storage: dir, ipsetBan: { ipset: [...inNs, 'ipset', '-exist', '-quiet'] } };
    writeFileSync(path.join(dir, 'peruse.json'), JSON.stringify(config));
    if (backend === 'nft') {
      execFileSync(inNs[0]!, [...inNs.slice(1), 'nft', '-f', '-'], { input: SSH_BAN_TABLES });
    } else {
      execFileSync(inNs[0]!, [...inNs.slice(1), 'ipset', 'create', 'ssh_ban4', 'hash:ip', 'family', 'inet', 'timeout', '0', 'maxelem', '100000']);
      execFileSync(inNs[0]!, [...inNs.slice(1), 'ipset', 'create', 'ssh_ban6', 'hash:ip', 'family', 'inet6', 'timeout', '0', 'maxelem', '100000']);
    }
    // 20 000 bans through the real action (replay, not dry-run), then a cold restore into an emptied set
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(JSON.stringify({ __REALTIME_TIMESTAMP: String(Date.now() * 1000 - 1000 + i), ip: `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, MESSAGE: 'x' }));
    writeFileSync(path.join(dir, 'bans.jsonl'), lines.join('\n') + '\n');
    execFileSync('node', [peruse, 'replay', '--config', path.join(dir, 'peruse.json'), '--input', path.join(dir, 'bans.jsonl')], { cwd: dir, stdio: 'ignore' });
    if (backend === 'nft') execFileSync(inNs[0]!, [...inNs.slice(1), 'nft', 'flush', 'set', 'ip', 'Inet4', 'ssh_ban']);
    else execFileSync(inNs[0]!, [...inNs.slice(1), 'ipset', 'flush', 'ssh_ban4']);
    const started = performance.now();
    execFileSync('node', [peruse, 'bans', 'restore', '--config', path.join(dir, 'peruse.json')], { cwd: dir, stdio: 'ignore' });
    const elapsed = (performance.now() - started) / 1000;
    const listed = backend === 'nft'
      ? execFileSync(inNs[0]!, [...inNs.slice(1), 'nft', '-j', 'list', 'set', 'ip', 'Inet4', 'ssh_ban'], { encoding: 'utf8', maxBuffer: 1 << 28 })
      : execFileSync(inNs[0]!, [...inNs.slice(1), 'ipset', 'list', 'ssh_ban4', '-terse'], { encoding: 'utf8' });
    const count = backend === 'nft' ? (listed.match(/"elem"/g) ?? []).length || (listed.match(/\d+\.\d+\.\d+\.\d+/g) ?? []).length : Number(/Number of entries: (\d+)/.exec(listed)?.[1] ?? 0);
    if (count < 20_000) throw new Error(`only ${count} elements restored`);
    return Number(elapsed.toFixed(3));
  });
}

await main();
