import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeConfig, renderUnit } from '../../src/cli/install.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the config peruse install writes', () => {
  it('includes rules/NAME.json of the package for each named rule, in the order given, once each', () => {
    const pkg = mkdtempSync(path.join(tmpdir(), 'peruse-pkg-'));
    mkdirSync(path.join(pkg, 'rules'));
    for (const rule of ['sshd', 'nginx', 'recidive']) writeFileSync(path.join(pkg, 'rules', `${rule}.json`), '{"actions":{}}');
    const made = composeConfig(pkg, ['sshd', 'recidive', 'sshd', 'nginx']);
    expect(typeof made).toBe('object');
    const { json, from } = made as Exclude<typeof made, string>;
    expect(json.actions).toEqual({
      sshd: { include: path.join(pkg, 'rules/sshd.json') },
      recidive: { include: path.join(pkg, 'rules/recidive.json') },
      nginx: { include: path.join(pkg, 'rules/nginx.json') },
    });
    expect(Object.keys(json.actions as object)).toEqual(['sshd', 'recidive', 'nginx']);
    expect(json.storage).toBe('/var/lib/peruse');
    expect(from).toBe('rules sshd, recidive, nginx');
    expect(composeConfig(pkg, ['sshd', 'apache'])).toBe(`no rule "apache" in ${path.join(pkg, 'rules')} (available: nginx, recidive, sshd)`);
  });

  it('without the rules library, sshd is the bundled example and any other rule is refused', () => {
    // a package without rules/ (this one has it): only the bundled example
    const pkg = mkdtempSync(path.join(tmpdir(), 'peruse-pkg-'));
    mkdirSync(path.join(pkg, 'examples'));
    writeFileSync(path.join(pkg, 'examples/peruse.json'), readFileSync(path.join(ROOT, 'examples/peruse.json')));
    const made = composeConfig(pkg, ['sshd']);
    expect(typeof made === 'object' && made.json).toEqual(JSON.parse(readFileSync(path.join(ROOT, 'examples/peruse.json'), 'utf8')));
    expect(composeConfig(pkg, ['sshd', 'nginx'])).toMatch(/^no rule "nginx" .*no rules\/ directory in this package/);
  });
});

describe('the units peruse install writes', () => {
  const template = readFileSync(path.join(ROOT, 'examples/systemd/peruse.service'), 'utf8');

  it('run the installed peruse with its node by their real paths, marked as written by install', () => {
    const unit = renderUnit(template, { node: '/usr/bin/node', peruse: '/usr/lib/node_modules/peruse/bin/peruse.js', docs: '/usr/lib/node_modules/peruse/docs' });
    expect(unit.startsWith('# Written by `peruse install`')).toBe(true);
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/usr\/lib\/node_modules\/peruse\/bin\/peruse\.js run --config \/etc\/peruse\/peruse\.json$/m);
    expect(unit).toMatch(/^Documentation=file:\/\/\/usr\/lib\/node_modules\/peruse\/docs\/daemon\.md$/m);
    expect(unit).toMatch(/^ProtectHome=true$/m);
  });

  it('keep a package installed under /root readable (ProtectHome=read-only)', () => {
    const unit = renderUnit(template, { node: '/root/.nvm/node', peruse: '/root/.npm-global/lib/node_modules/peruse/bin/peruse.js', docs: '/root/x/docs' });
    expect(unit).toMatch(/^ProtectHome=read-only$/m);
    expect(unit).not.toMatch(/^ProtectHome=true$/m);
  });
});
