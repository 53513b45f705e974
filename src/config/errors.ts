/**
 * Config error codes. Documented in docs/operations.md ("Config errors") and docs/configuration-errors.md; tests hold golden lists of them.
 */
export type ErrorCode =
  | 'E_JSON' // the file is not valid JSON
  | 'E_SCHEMA' // a top-level section or a step has the wrong shape
  | 'E_UNKNOWN_MODULE' // no built-in or user module has this name
  | 'E_BAD_ARGS' // module args fail the module's schema
  | 'E_BAD_REGEX' // a pattern neither RE2 nor the JS engine can compile
  | 'E_BAD_NETWORK' // an address or CIDR that does not parse
  | 'E_BAD_TEMPLATE' // a Python str.format template that does not parse
  | 'E_UNKNOWN_CHAIN' // then/else names a chain that does not exist
  | 'E_LOOP' // chains jump to each other in a cycle
  | 'E_UNREACHABLE_STEP' // a step after an explicit `then` can never run
  | 'E_MODULE_LOAD' // a user module file fails to load or declares itself wrongly
  | 'E_MODULE_CONFLICT' // a user module reuses a built-in (or another user module's) name
  | 'E_REDOS' // a pattern only the backtracking JS engine runs, which some line makes backtrack exponentially
  | 'E_INCLUDE' // an include that cannot be made (file, params, loop) or an unknown <<name>>
  | 'E_IO'; // the config file cannot be read

export type WarningCode =
  | 'W_REGEX_FALLBACK' // RE2 refused the pattern; it runs on the backtracking JS engine
  | 'W_UNKNOWN_KEY' // an unknown key: top level (kept for user modules), step or args (ignored, as Pyruse)
  | 'W_JUMP_CHAIN_ABOVE' // a chain is declared above the chain that first jumps to it
  | 'W_PYRUSE_COMPAT' // a setting Pyruse runs, read as Pyruse reads it (the message says how)
  | 'W_MODULE' // a module's own config-time warning
  | 'W_NUMERIC_FIELD_STRING' // a comparison with a string on a field that is always a number (PRIORITY, _PID …)
  | 'W_SET_MISSING'; // a ban step names a set that does not exist, and peruse does not manage the firewall

/** Thrown by a module's `create` for a semantic error in its args. */
export class ConfigError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Sub-path inside args, e.g. `re` or `nets[2]`; empty for the step itself. */
    readonly argsSubPath: string = '',
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type PathSegment = string | number;

/** A file issues can point into (a loaded config, or a rule file it includes). */
export interface IssueSource {
  file: string;
  locate(path: readonly PathSegment[]): number;
  position(offset: number): { line: number; column: number };
}

export interface ConfigIssue {
  severity: 'error' | 'warning';
  code: ErrorCode | WarningCode;
  path: PathSegment[];
  message: string;
  /** Byte offset in the config file (filled by the loader from the path). */
  offset?: number;
  line?: number;
  column?: number;
  /** The file the issue is in when it is not the config itself (an included rule file). */
  file?: string;
  /** Where `path` is to be located, when not in the config itself. */
  source?: IssueSource;
}

/** Longest value quoted in full in a message; a longer one is cut, its length given. */
export const MAX_QUOTED_CHARS = 200;

/** `value` cut to `keep` characters plus `… (5 242 880 chars)` when longer. */
export function clip(value: string, keep = MAX_QUOTED_CHARS): string {
  if (value.length <= keep) return value;
  return `${value.slice(0, keep)}… (${value.length.toLocaleString('en-US').replace(/,/g, ' ')} chars)`;
}

/**
 * A message with every long value cut that its maker left whole: a run of more than twice
 * MAX_QUOTED_CHARS non-blank characters (a pattern, a name; one already cut is shorter), then the
 * whole message if still too long (its end kept: it says why).
 */
export function clipMessage(message: string): string {
  const clipped = message.replace(new RegExp(`\\S{${2 * MAX_QUOTED_CHARS + 1},}`, 'g'), (run) => clip(run));
  if (clipped.length <= 4 * MAX_QUOTED_CHARS) return clipped;
  return `${clipped.slice(0, 2 * MAX_QUOTED_CHARS)}… (${clipped.length.toLocaleString('en-US').replace(/,/g, ' ')} chars) …${clipped.slice(-MAX_QUOTED_CHARS)}`;
}

/** `actions["SSH"][2].args.re`: chain names always bracketed, identifiers dotted. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  path.forEach((segment, i) => {
    const seg = typeof segment === 'string' ? clip(segment) : segment;
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (i === 0 && /^[A-Za-z_][\w-]*$/.test(seg)) out += seg;
    else if (i === 1 && path[0] === 'actions') out += `[${JSON.stringify(seg)}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  });
  return out || '(root)';
}

/** Parses `re`, `nets[2]`, `a.b[0]` into segments. */
export function parseSubPath(sub: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  for (let m = re.exec(sub); m; m = re.exec(sub)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** Did-you-mean: the closest candidate within a small edit distance. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) { best = c; bestDistance = d; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
