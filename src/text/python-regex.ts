import { ConfigError } from '../config/errors.js';
import { classEscapeMembers, literal, members, UNICODE_SPACES, WORD_U, type PatternFlags, type Target } from './python-classes.js';

/**
 * Python 3 `re` on `str`, rewritten for the engines peruse has. Python's `\w \d \s \b` are
 * Unicode-aware, RE2's and irregexp's (without `u`) are ASCII; both agree on text that is all
 * ASCII, so each pattern gets:
 * - `asciiSource` (RE2 syntax): Python's meaning on ASCII-only text (the fast path: irregexp or
 *   RE2, literal prefilter), or on any text under `(?a)`;
 * - `unicodeSource` (RE2 syntax, `\p{…}` classes): Python's meaning on any text, when RE2 can say
 *   it (it cannot say a Unicode `\b`, nor `\W` beside other class members);
 * - `jsSource` (JS syntax, `u` flag, no `m`: its `^ $` are the ends of the text): Python's
 *   meaning on any text, with lookarounds for Python's `^ $` in MULTILINE, `$` and `\b`; the
 *   engine of what RE2 refuses (backreferences, lookarounds), of what RE2 cannot say, and of text
 *   of several lines ending in "\n" when the pattern has a `$` (Python's `$` also matches before a
 *   final newline).
 */
export interface PythonPattern {
  asciiSource: string;
  unicodeSource: string | undefined;
  jsSource: string | undefined;
  /** RE2 flags (i, m, s); the JS source takes `jsFlags`. */
  flags: string;
  jsFlags: string;
  /** `\d \w \s \b` (or their negations) appear, and `(?a)` is not set: ASCII and other text differ. */
  unicodeSensitive: boolean;
  /** A `$` without MULTILINE: text ending in "\n" needs the JS source. */
  dollarBeforeNewline: boolean;
  /** A `\B`, which Python never matches in the empty text (RE2 and JS do). */
  nonBoundary: boolean;
  /** Constructs RE2 has no spelling for: the pattern runs on the JS source only. */
  re2Refuses: string | undefined;
}

const ESCAPE_CODES: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };

class Parser {
  private i = 0;
  private readonly outs: Record<Target, string | undefined> = { ascii: '', unicode: '', js: '' };
  flags: PatternFlags = { i: false, m: false, s: false, x: false, a: false };
  unicodeSensitive = false;
  dollar = false;
  nonBoundary = false;
  re2Refuses: string | undefined;
  private groups = 0;
  /** Where each open group starts in the JS form, and where the group just closed started. */
  private readonly jsGroupStarts: number[] = [];
  private closedGroupJsStart: number | undefined;

  /**
   * `onlyFinalNewline`: the RE2 forms are for text whose one newline is its last character, run
   * with RE2's MULTILINE: its `$` then matches where Python's does (at the end and before that
   * newline), `^` and `\A` become `\A`, `\Z` becomes `\z`.
   */
  constructor(private readonly p: string, private readonly subPath: string, private readonly onlyFinalNewline = false, private readonly emptyText = false) {}

  private fail(why: string): never {
    throw new ConfigError('E_BAD_REGEX', `invalid regular expression: ${why} at position ${this.i} (Python's re refuses it too)`, this.subPath);
  }

  private unsupported(why: string): never {
    throw new ConfigError('E_BAD_REGEX', `${why} at position ${this.i}: no engine here runs it with Python's meaning; rewrite this part of the pattern`, this.subPath);
  }

  /** Appends to each form; a form given as undefined cannot say this part (and is dropped). */
  private emit(ascii: string, ...others: [] | [unicode: string | undefined] | [unicode: string | undefined, js: string | undefined]): void {
    this.closedGroupJsStart = undefined;
    const unicode = others.length === 0 ? ascii : others[0];
    const js = others.length < 2 ? unicode : others[1];
    if (this.outs.ascii !== undefined) this.outs.ascii += ascii;
    this.outs.unicode = this.outs.unicode === undefined || unicode === undefined ? undefined : this.outs.unicode + unicode;
    this.outs.js = this.outs.js === undefined || js === undefined ? undefined : this.outs.js + js;
  }

  private refuseRe2(why: string): void {
    this.re2Refuses ??= why;
  }

  parse(): PythonPattern {
    this.leadingFlags();
    const p = this.p;
    while (this.i < p.length) {
      const c = p[this.i]!;
      if (this.flags.x && ' \t\n\r\v\f'.includes(c)) { this.i++; continue; }
      if (this.flags.x && c === '#') {
        while (this.i < p.length && p[this.i] !== '\n') this.i++;
        continue;
      }
      if (c === '\\') { this.escape(); continue; }
      if (c === '[') { this.charClass(); continue; }
      if (c === '(') { this.group(); continue; }
      if (c === '{') { this.brace(); continue; }
      this.i++;
      if (c === '.') this.emit('.', '.', this.flags.s ? '[\\s\\S]' : '[^\\n]');
      else if (c === '^') {
        const re2 = this.onlyFinalNewline ? '\\A' : '^';
        this.emit(re2, re2, this.flags.m ? '(?:^|(?<=\\n))' : '^');
      }
      else if (c === '$') {
        if (!this.flags.m) this.dollar = true;
        this.emit('$', '$', this.flags.m ? '(?=\\n|$)' : '(?=\\n?$)');
      } else if (c === ')') {
        this.emit(c);
        this.closedGroupJsStart = this.jsGroupStarts.pop();
      } else if (c === '?' && this.closedGroupJsStart !== undefined && p[this.i] !== '+') this.optionalGroup();
      else if ('|*+?'.includes(c)) this.emit(c);
      else {
        const code = p.codePointAt(this.i - 1)!;
        if (code > 0xffff) this.i++;
        this.literalCode(code);
      }
    }
    const re2Flags = (this.flags.i ? 'i' : '') + (this.flags.m || this.onlyFinalNewline ? 'm' : '') + (this.flags.s ? 's' : '');
    return {
      asciiSource: this.outs.ascii!,
      unicodeSource: this.unicodeSensitive ? this.outs.unicode : this.outs.ascii,
      jsSource: this.outs.js,
      flags: re2Flags,
      jsFlags: this.flags.i ? 'iu' : 'u',
      unicodeSensitive: this.unicodeSensitive,
      dollarBeforeNewline: this.dollar,
      nonBoundary: this.nonBoundary,
      re2Refuses: this.re2Refuses,
    };
  }

  /**
   * `(…)?` in the JS form: JS refuses an optional group's empty match (ECMAScript drops an
   * iteration that consumes nothing), Python and RE2 take it; `(?:(…)|)` takes it too.
   */
  private optionalGroup(): void {
    const lazy = this.p[this.i] === '?';
    if (lazy) this.i++;
    const start = this.closedGroupJsStart!;
    const js = this.outs.js;
    this.emit(lazy ? '??' : '?', lazy ? '??' : '?', '');
    if (js !== undefined) {
      const body = js.slice(start);
      this.outs.js = js.slice(0, start) + (lazy ? `(?:|${body})` : `(?:${body}|)`);
    }
  }

  private literalCode(code: number): void {
    this.emit(literal(code, 'ascii', false), literal(code, 'unicode', false), literal(code, 'js', false));
  }

  /** `(?aimsux)` groups at the very start set the flags of the whole pattern (Python 3.11 wants them there). */
  private leadingFlags(): void {
    for (;;) {
      const m = /^\(\?([aiLmsux]+)\)/.exec(this.p.slice(this.i));
      if (!m) return;
      for (const f of m[1]!) {
        if (f === 'L') this.fail('the LOCALE flag (?L) cannot be used with a str pattern');
        if (f in this.flags) this.flags[f as keyof PatternFlags] = true;
      }
      if (this.flags.a && m[1]!.includes('u')) this.fail('ASCII and UNICODE flags are incompatible');
      this.i += m[0].length;
    }
  }

  private escape(): void {
    const p = this.p;
    const next = p[this.i + 1];
    if (next === undefined) this.fail('bad escape (end of pattern)');
    const start = this.i;
    this.i += 2;
    if ('dDwWsS'.includes(next)) {
      this.classEscape(next);
      return;
    }
    switch (next) {
      case 'A': {
        const re2 = this.flags.m || this.onlyFinalNewline ? '\\A' : '^';
        this.emit(re2, re2, '^');
        return;
      }
      case 'Z': {
        const re2 = this.flags.m || this.onlyFinalNewline ? '\\z' : '$';
        this.emit(re2, re2, '$');
        return;
      }
      case 'b': case 'B': {
        if (next === 'B') this.nonBoundary = true;
        // Python's \B never matches in the empty text
        if (next === 'B' && this.emptyText) { this.emit('[^\\s\\S]'); return; }
        if (this.flags.a) {
          // RE2's \B matches between the bytes of one UTF-8 character: non-ASCII text takes the JS form
          if (next === 'B') { this.unicodeSensitive = true; this.emit('\\B', undefined, '\\B'); } else this.emit('\\b');
          return;
        }
        this.unicodeSensitive = true;
        const w = `[${WORD_U}]`;
        const boundary = `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`;
        const inside = `(?:(?<=${w})(?=${w})|(?<!${w})(?!${w}))`;
        // RE2's \b is ASCII only and it has no lookaround: non-ASCII text goes to the JS source
        this.emit(`\\${next}`, undefined, next === 'b' ? boundary : inside);
        return;
      }
      case 'x': case 'u': case 'U': {
        const digits = next === 'x' ? 2 : next === 'u' ? 4 : 8;
        const hexText = p.slice(this.i, this.i + digits);
        if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hexText)) { this.i = start; this.fail(`incomplete escape \\${next}${hexText}`); }
        const code = parseInt(hexText, 16);
        if (code > 0x10ffff) { this.i = start; this.fail(`bad escape \\${next}${hexText}`); }
        this.i += digits;
        this.literalCode(code);
        return;
      }
      case 'N': this.i = start; this.unsupported('\\N{…} named characters are not supported; write the character itself');
    }
    if (next in ESCAPE_CODES) { this.literalCode(ESCAPE_CODES[next]!); return; }
    if (next >= '0' && next <= '9') {
      // Python: \0 and three octal digits are a character; otherwise one or two digits are a group
      const octal = /^[0-7]{1,3}/.exec(p.slice(this.i - 1))?.[0] ?? '';
      if (next === '0' || (octal.length === 3)) {
        const text = next === '0' ? /^0[0-7]{0,2}/.exec(p.slice(this.i - 1))![0] : octal;
        const code = parseInt(text, 8);
        if (code > 0o377) this.fail(`octal escape value \\${text} outside of range 0-0o377`);
        this.i += text.length - 1;
        this.literalCode(code);
        return;
      }
      const ref = /^[0-9]{1,2}/.exec(p.slice(this.i - 1))![0];
      this.i += ref.length - 1;
      if (Number(ref) > this.groups) this.fail(`invalid group reference ${ref}`);
      this.refuseRe2('a backreference');
      this.emit(`\\${ref}`);
      return;
    }
    if (/[A-Za-z]/.test(next)) { this.i = start; this.fail(`bad escape \\${next}`); }
    const code = p.codePointAt(this.i - 1)!;
    if (code > 0xffff) this.i++;
    this.literalCode(code);
  }

  private classEscape(escape: string): void {
    if (!this.flags.a) this.unicodeSensitive = true;
    const single = (target: Target): string => {
      if (escape === 'W' && target !== 'ascii' && !this.flags.a) return `[^${WORD_U}]`;
      if (escape === 'S' && target === 'ascii' && !this.flags.a) return `[^${members(UNICODE_SPACES.filter((c) => c < 0x80), 'ascii')}]`;
      if (escape === 'd' && target === 'ascii') return '\\d';
      if (escape === 'w' && target === 'ascii') return '\\w';
      if (escape === 'D' && target === 'ascii') return '\\D';
      if (escape === 'W' && target === 'ascii') return '\\W';
      return `[${classEscapeMembers(escape, target, this.flags)!}]`;
    };
    this.emit(single('ascii'), single('unicode'), single('js'));
  }

  /** `{m,n}` as Python reads it: `{,n}` is `{0,n}`; a brace that starts no repeat is a literal brace. */
  private brace(): void {
    const m = /^\{([0-9]*)(?:(,)([0-9]*))?\}/.exec(this.p.slice(this.i));
    if (!m || this.p[this.i + 1] === '}') {
      this.i++;
      this.literalCode(0x7b);
      return;
    }
    const lo = m[1] === '' ? 0 : Number(m[1]);
    const hi = m[2] === undefined ? String(lo) : m[3] ?? '';
    if (hi !== '' && Number(hi) < lo) this.fail('min repeat greater than max repeat');
    this.i += m[0].length;
    this.emit(m[2] === undefined ? `{${lo}}` : `{${lo},${hi}}`);
  }

  private group(): void {
    const p = this.p;
    const rest = p.slice(this.i, this.i + 300);
    const jsStart = this.outs.js?.length ?? 0;
    if (!rest.startsWith('(?')) {
      this.jsGroupStarts.push(jsStart);
      this.i++;
      this.groups++;
      this.emit('(');
      return;
    }
    let m: RegExpExecArray | null;
    if ((m = /^\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest)) || (m = /^\(\?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest))) {
      this.i += m[0].length;
      this.groups++;
      this.jsGroupStarts.push(jsStart);
      this.emit(`(?<${m[1]}>`);
      return;
    }
    if ((m = /^\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(rest))) {
      this.i += m[0].length;
      this.refuseRe2('a backreference');
      this.emit(`\\k<${m[1]}>`);
      return;
    }
    if (rest.startsWith('(?:')) { this.i += 3; this.jsGroupStarts.push(jsStart); this.emit('(?:'); return; }
    if (rest.startsWith('(?#')) {
      const end = p.indexOf(')', this.i);
      if (end < 0) this.fail('missing ), unterminated comment');
      this.i = end + 1;
      return;
    }
    if ((m = /^\(\?(<=|<!|=|!)/.exec(rest))) {
      this.i += m[0].length;
      this.refuseRe2('a lookaround');
      this.jsGroupStarts.push(jsStart);
      this.emit(`(?${m[1]}`);
      return;
    }
    if ((m = /^\(\?([aiLmsux]*)(?:-([imsx]+))?:/.exec(rest)) && (m[1] !== '' || m[2] !== undefined)) {
      const on = m[1]!, off = m[2] ?? '';
      if (/[aLux]/.test(on) || off.includes('x')) this.unsupported(`the scoped flags (?${on}${off ? '-' + off : ''}:…)`);
      this.i += m[0].length;
      this.jsGroupStarts.push(jsStart);
      // RE2 takes scoped i/m/s as they are; Node's JS has no scoped flags, so no JS form
      this.emit(`(?${on}${off ? '-' + off : ''}:`, `(?${on}${off ? '-' + off : ''}:`, undefined);
      return;
    }
    if (rest.startsWith('(?(')) this.unsupported('a conditional group (?(…)…|…)');
    // anything else ((?>…) and the like) is left to the engines, which say what they make of it
    this.i += 2;
    this.jsGroupStarts.push(jsStart);
    this.emit('(?');
  }

  private charClass(): void {
    const p = this.p;
    this.i++;
    let negated = false;
    if (p[this.i] === '^') { negated = true; this.i++; }
    // members as [from, to] code point ranges, and the class escapes met
    const ranges: [number, number][] = [];
    const escapes: string[] = [];
    let first = true;
    const item = (): { code: number } | { escape: string } => {
      const c = p[this.i];
      if (c === undefined) this.fail('unterminated character set');
      if (c === '\\') {
        const next = p[this.i + 1];
        if (next === undefined) this.fail('bad escape (end of pattern)');
        const start = this.i;
        this.i += 2;
        if ('dDwWsS'.includes(next)) return { escape: next };
        if (next === 'b') return { code: 8 };
        if (next in ESCAPE_CODES) return { code: ESCAPE_CODES[next]! };
        if (next === 'x' || next === 'u' || next === 'U') {
          const digits = next === 'x' ? 2 : next === 'u' ? 4 : 8;
          const hexText = p.slice(this.i, this.i + digits);
          if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hexText)) { this.i = start; this.fail(`incomplete escape \\${next}${hexText}`); }
          this.i += digits;
          return { code: parseInt(hexText, 16) };
        }
        if (next === 'N') { this.i = start; this.unsupported('\\N{…} named characters are not supported; write the character itself'); }
        if (next >= '0' && next <= '7') {
          const text = /^[0-7]{1,3}/.exec(p.slice(this.i - 1))![0];
          this.i += text.length - 1;
          return { code: parseInt(text, 8) };
        }
        if (/[A-Za-z0-9]/.test(next)) { this.i = start; this.fail(`bad escape \\${next}`); }
        const code = p.codePointAt(this.i - 1)!;
        if (code > 0xffff) this.i++;
        return { code };
      }
      const code = p.codePointAt(this.i)!;
      this.i += code > 0xffff ? 2 : 1;
      return { code };
    };
    for (;;) {
      if (this.i >= p.length) this.fail('unterminated character set');
      if (p[this.i] === ']' && !first) { this.i++; break; }
      first = false;
      const start = this.i;
      const a = item();
      if (p[this.i] === '-' && p[this.i + 1] !== ']' && this.i + 1 < p.length) {
        this.i++;
        const b = item();
        if (!('code' in a) || !('code' in b)) { this.i = start; this.fail(`bad character range ${p.slice(start, this.i + 3)}`); }
        if (b.code < a.code) { this.i = start; this.fail('bad character range'); }
        ranges.push([a.code, b.code]);
      } else if ('code' in a) ranges.push([a.code, a.code]);
      else escapes.push(a.escape);
    }
    if (escapes.length > 0 && !this.flags.a) this.unicodeSensitive = true;
    const rangeText = (target: Target) => ranges.map(([from, to]) => (from === to ? literal(from, target, true) : `${literal(from, target, true)}-${literal(to, target, true)}`)).join('');
    const build = (target: Target): string | undefined => {
      const escapeMembers = escapes.map((e) => classEscapeMembers(e, target, this.flags));
      if (escapeMembers.every((m) => m !== undefined)) return `[${negated ? '^' : ''}${rangeText(target)}${escapeMembers.join('')}]`;
      // a Unicode \W: alone it is a negated class; beside other members only the JS form can say it
      if (ranges.length === 0 && escapes.length === 1) return `[${negated ? '' : '^'}${WORD_U}]`;
      if (target !== 'js') return undefined;
      const others = escapes.filter((e) => e !== 'W');
      const positive = `[${rangeText(target)}${others.map((e) => classEscapeMembers(e, target, this.flags)!).join('')}]`;
      const either = `(?:${positive === '[]' ? '' : positive + '|'}[^${WORD_U}])`;
      return negated ? `(?:(?!${either})[\\s\\S])` : either;
    };
    if (ranges.length === 0 && escapes.length === 0) this.fail('unterminated character set');
    this.emit(build('ascii')!, build('unicode'), build('js'));
  }
}

/** `onlyFinalNewline`, `emptyText`: forms for that text only (see the Parser). */
export function parsePythonPattern(pattern: string, subPath = 're', onlyFinalNewline = false, emptyText = false): PythonPattern {
  return new Parser(pattern, subPath, onlyFinalNewline, emptyText).parse();
}
