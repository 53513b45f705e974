// A ModuleContext for unit tests of the ban actions: fake runner, memory logger, settable clock.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ModuleContext } from '../../src/modules/api.js';
import { Settings } from '../../src/config/settings.js';
import { State } from '../../src/state/state.js';
import type { CommandResult, CommandRunner } from '../../src/system/exec.js';
import { memoryLogger } from '../../src/system/log.js';

export interface FakeRunner extends CommandRunner {
  calls: string[][];
  /** Result of the next calls, by argv index (default: success). */
  fail: (argv: readonly string[]) => CommandResult | undefined;
}

export function fakeRunner(): FakeRunner {
  const runner: FakeRunner = {
    calls: [],
    fail: () => undefined,
    async run(argv) {
      runner.calls.push([...argv]);
      return runner.fail(argv) ?? { code: 0, stdout: '', stderr: '' };
    },
  };
  return runner;
}

export interface TestContext {
  ctx: ModuleContext;
  runner: FakeRunner;
  log: ReturnType<typeof memoryLogger>;
  clock: { now: number; nowMicros(): number };
  storage: string;
}

export function testContext(options: { persist?: boolean; raw?: Record<string, unknown>; storage?: string } = {}): TestContext {
  const storage = options.storage ?? mkdtempSync(path.join(tmpdir(), 'peruse-bans-unit-'));
  const settings = new Settings({ storage, nftBan: { nft: ['nft'] }, ipsetBan: { ipset: ['ipset', '-exist', '-quiet'] }, ...options.raw },
    path.join(storage, 'peruse.json'));
  const runner = fakeRunner();
  const log = memoryLogger();
  const clock = { now: 1_767_225_600_000_000, nowMicros() { return this.now; } };
  const ctx: ModuleContext = {
    path: 'actions["SSH"][3]', label: 'SSH[3]', settings, clock, log,
    state: new State({ storage, persist: options.persist ?? true }),
    exec: runner,
    mailer: { async send() { /* unused by bans */ } } as unknown as ModuleContext['mailer'],
    dryRun: false,
    warn: () => {},
  };
  return { ctx, runner, log, clock, storage };
}
