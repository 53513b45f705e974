import { execFileSync } from 'node:child_process';

/** What Python 3's `re.search(pattern, subject)` gives: the match start (in code points) and groups, or null. */
export type PythonSearch = { start: number; groups: (string | null)[]; named: Record<string, string | null> } | null;

const SCRIPT = `
import json, re, sys, warnings
warnings.simplefilter("ignore")
job = json.load(sys.stdin)
out = []
for p in job["patterns"]:
    try:
        r = re.compile(p)
    except re.error as e:
        out.append({"error": str(e)})
        continue
    row = []
    for s in job["subjects"]:
        m = r.search(s)
        row.append(None if m is None else {"start": m.start(), "groups": [m.group(0), *m.groups()], "named": m.groupdict()})
    out.append({"results": row})
json.dump(out, sys.stdout)
`;

/** Runs every pattern on every subject with the real Python `re` (python3 on this machine). */
export function pythonSearch(patterns: string[], subjects: string[]): ({ error: string } | { results: PythonSearch[] })[] {
  const output = execFileSync('python3', ['-c', SCRIPT], { input: JSON.stringify({ patterns, subjects }), maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(output.toString('utf8'));
}

/** A JS match in Python's terms: start in code points, missing groups as null. */
export function asPythonSearch(subject: string, match: RegExpExecArray | null): PythonSearch {
  if (match === null) return null;
  const named: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(match.groups ?? {})) named[k] = v ?? null;
  return { start: [...subject.slice(0, match.index)].length, groups: match.slice().map((g) => g ?? null), named };
}
