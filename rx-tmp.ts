import { readFileSync } from 'node:fs';
import { compilePattern } from './src/text/regex.js';
import { asPythonSearch, pythonSearch } from './test/helpers/python-re.js';
const src = readFileSync('test/unit/regex-engines.test.ts', 'utf8');
const EDGE = eval(src.match(/const EDGE_PATTERNS = (\[[\s\S]*?\]);/)![1]!) as string[];
const SUBJ = eval(src.match(/const SUBJECTS = (\[[\s\S]*?\]);/)![1]!) as string[];
function patternsOf(file: string): string[] {
  const config = JSON.parse(readFileSync(file, 'utf8')) as { actions: Record<string, { args?: { re?: string | string[] } }[]> };
  return Object.values(config.actions).flat().flatMap((s) => (s.args?.re === undefined ? [] : Array.isArray(s.args.re) ? s.args.re : [s.args.re]));
}
const patterns = [...patternsOf('/work/shared/fixtures/pyruse-full-example.json'), ...patternsOf('/work/shared/corpus/bench-config.json'), ...EDGE];
const subjects = [...SUBJ, ...readFileSync('examples/samples.jsonl', 'utf8').split('\n').filter(Boolean).map((l) => String(JSON.parse(l).MESSAGE ?? ''))];
const py = pythonSearch(patterns, subjects);
patterns.forEach((p, i) => {
  const w = py[i]!; if ('error' in w) { console.log('PYERR', p); return; }
  const c = compilePattern(p);
  subjects.forEach((s, j) => { const g = asPythonSearch(s, c.exec(s)); if (JSON.stringify(g) !== JSON.stringify(w.results[j])) console.log('DIFF', c.engine, JSON.stringify(p), JSON.stringify(s), JSON.stringify(g), JSON.stringify(w.results[j])); });
});
