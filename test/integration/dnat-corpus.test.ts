// Replays gen-corpus corpora through bench-config.json (dry-run, trace) and checks the DNAT
// correction against the generator's truth file: every failure that came through the DNAT
// carries its attacker's real address, and only the truth's unattributed lines keep 10.0.0.1.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const peruse = path.join(root, 'bin/peruse.js');
const generator = '/work/shared/corpus/gen-corpus.mjs';
const benchConfig = '/work/shared/corpus/bench-config.json';

interface Truth {
  proxyAddress: string;
  dnatCorrectedLines: number;
  unattributedProxyLines: number;
  attackers: { ip: string; via: 'dnat' | 'direct'; failures: number }[];
}
interface TraceLine { line: number; fields: Record<string, unknown> }

const FAILURE = /^Failed password for (?:invalid user )?\S+ from (\S+) port (\d+) ssh2$/;
const KERNEL = /^DNAT\/ssh: .* SRC=(\S+) DST=(\S+) .* SPT=(\d+) DPT=22 /;

function replayCorpus(generatorArgs: string[]) {
  const dir = mkdtempSync(path.join(tmpdir(), 'peruse-dnat-corpus-'));
  const corpusFile = path.join(dir, 'corpus.jsonl'), truthFile = path.join(dir, 'truth.json');
  execFileSync('node', [generator, ...generatorArgs, '--seed', '1', '--format', 'json', '--out', corpusFile, '--truth', truthFile]);
  const started = performance.now();
  const result = spawnSync('node', [peruse, 'replay', '--config', benchConfig, '--input', corpusFile, '--dry-run', '--trace'],
    { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (performance.now() - started) / 1000;
  expect(result.status).toBe(0);
  const corpus = readFileSync(corpusFile, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  const traces = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as TraceLine);
  expect(traces).toHaveLength(corpus.length);
  const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as Truth;

  // what each proxied failure must become: the SRC of the latest kernel DNAT line for its port
  const realByPort = new Map<string, string>();
  const proxied: { index: number; expected: string | undefined; got: unknown }[] = [];
  corpus.forEach((entry, index) => {
    const message = entry.MESSAGE ?? '';
    const kernel = entry.SYSLOG_IDENTIFIER === 'kernel' ? KERNEL.exec(message) : null;
    if (kernel) { realByPort.set(kernel[3]!, kernel[1]!); return; }
    const failure = entry.SYSLOG_IDENTIFIER === 'sshd' ? FAILURE.exec(message) : null;
    if (failure && failure[1] === truth.proxyAddress) {
      proxied.push({ index, expected: realByPort.get(failure[2]!), got: traces[index]!.fields.thatIP });
      realByPort.delete(failure[2]!);
    }
  });
  return { truth, proxied, seconds, entries: corpus.length };
}

function checkAgainstTruth({ truth, proxied }: ReturnType<typeof replayCorpus>) {
  const corrected = proxied.filter((p) => p.got !== truth.proxyAddress);
  const kept = proxied.filter((p) => p.got === truth.proxyAddress);
  expect(proxied).toHaveLength(truth.dnatCorrectedLines + truth.unattributedProxyLines);
  expect(corrected).toHaveLength(truth.dnatCorrectedLines);
  expect(kept).toHaveLength(truth.unattributedProxyLines);
  // exact line by line: each corrected failure names the client of its own DNAT line
  expect(corrected.filter((p) => p.got !== p.expected)).toEqual([]);
  // and per attacker, as many corrected failures as the truth says it made through the DNAT
  const perIp = new Map<string, number>();
  for (const p of corrected) perIp.set(String(p.got), (perIp.get(String(p.got)) ?? 0) + 1);
  const expected = new Map(truth.attackers.filter((a) => a.via === 'dnat').map((a) => [a.ip, a.failures]));
  expect(perIp).toEqual(expected);
}

describe('DNAT correction over generated corpora (bench-config.json, replay --dry-run --trace)', () => {
  it('default corpus: every DNAT\'d failure carries its attacker\'s real address, only unattributed lines keep 10.0.0.1', () => {
    const run = replayCorpus(['--entries', '20000']);
    checkAgainstTruth(run);
  }, 120_000);

  it('8000 attackers in 15 minutes, thousands of live mappings at once: still exact', () => {
    const run = replayCorpus(['--entries', '20000', '--hours', '0.25', '--attackers', '8000']);
    expect(run.truth.dnatCorrectedLines).toBeGreaterThan(10_000);
    checkAgainstTruth(run);
    process.stderr.write(`dnat-corpus: ${run.entries} entries, ${run.truth.dnatCorrectedLines} DNAT'd failures, replay --dry-run --trace in ${run.seconds.toFixed(2)} s\n`);
  }, 180_000);
});
