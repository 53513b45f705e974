import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Node, ParseError } from 'jsonc-parser';
import type { ConfigIssue, PathSegment } from './errors.js';
import { keysInFileOrder, locateJsonPath } from './json-locate.js';

// jsonc-parser (a syntax tree with error positions) is loaded only for a file JSON.parse refuses
type JsoncParser = typeof import('jsonc-parser');
const jsonc = (): JsoncParser => createRequire(import.meta.url)('jsonc-parser') as JsoncParser;

export interface RawStep {
  value: unknown;
  path: PathSegment[];
}

export interface RawChain {
  name: string;
  steps: RawStep[];
  path: PathSegment[];
  isArray: boolean;
}

/** A config file parsed with positions, chains in file order (integer-like names included). */
export interface LoadedConfig {
  file: string;
  text: string;
  raw: Record<string, unknown>;
  chains: RawChain[];
  /** Offset of the deepest node along `path` (the key for a property that exists). */
  locate(path: readonly PathSegment[]): number;
  position(offset: number): { line: number; column: number };
}

export function loadConfigFile(file: string): { config?: LoadedConfig; issues: ConfigIssue[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { issues: [{ severity: 'error', code: 'E_IO', path: [], message: `cannot read config: ${(e as Error).message}`, offset: 0, line: 1, column: 1 }] };
  }
  return parseConfigText(text, file);
}

export function parseConfigText(text: string, file: string): { config?: LoadedConfig; issues: ConfigIssue[] } {
  let lineStarts: number[] | undefined;
  const position = (offset: number) => {
    if (!lineStarts) {
      lineStarts = [0];
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', nl + 1)) lineStarts.push(nl + 1);
    }
    let lo = 0, hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - lineStarts[lo]! + 1 };
  };

  // the tree parser, the schema validation and the config walks recurse once per level: refuse what
  // would overflow their stacks before parsing
  const tooDeep = firstTooDeep(text, MAX_JSON_DEPTH);
  if (tooDeep !== undefined) {
    return { issues: [{ severity: 'error', code: 'E_JSON', path: [], offset: tooDeep, ...position(tooDeep),
      message: `invalid JSON: nested deeper than ${MAX_JSON_DEPTH} levels` }] };
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return parseWithTree(text, file, position);
  }
  const rootOffset = locateJsonPath(text, []);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { issues: [{ severity: 'error', code: 'E_SCHEMA', path: [], offset: rootOffset, ...position(rootOffset), message: 'the config must be a JSON object' }] };
  }
  const raw = parsed as Record<string, unknown>;
  const chains: RawChain[] = [];
  const actions = raw.actions;
  if (typeof actions === 'object' && actions !== null && !Array.isArray(actions)) {
    // Chain order comes from the file: JS objects put integer-like keys first.
    const names = Object.keys(actions);
    const ordered = names.some((n) => /^(?:0|[1-9][0-9]*)$/.test(n)) ? keysInFileOrder(text, ['actions']) : names;
    for (const name of ordered) {
      const value = (actions as Record<string, unknown>)[name];
      const chainPath: PathSegment[] = ['actions', name];
      const isArray = Array.isArray(value);
      const steps = isArray ? value.map((step, i) => ({ value: step, path: [...chainPath, i] })) : [];
      chains.push({ name, steps, path: chainPath, isArray });
    }
  }
  const locate = (path: readonly PathSegment[]): number => locateJsonPath(text, path);
  return { config: { file, text, raw, chains, locate, position }, issues: [] };
}

/** The tree parser, for a file JSON.parse refuses: it tells where the syntax is wrong. */
function parseWithTree(text: string, file: string, position: (offset: number) => { line: number; column: number }): { config?: LoadedConfig; issues: ConfigIssue[] } {
  const { parseTree, findNodeAtLocation, getNodeValue, printParseErrorCode } = jsonc();
  const parseErrors: ParseError[] = [];
  const root = parseTree(text, parseErrors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (parseErrors.length > 0 || !root) {
    const issues: ConfigIssue[] = parseErrors.map((e) => ({
      severity: 'error', code: 'E_JSON', path: [], offset: e.offset, ...position(e.offset),
      message: `invalid JSON: ${describeParseError(printParseErrorCode(e.error))}`,
    }));
    if (issues.length === 0) issues.push({ severity: 'error', code: 'E_JSON', path: [], offset: 0, line: 1, column: 1, message: 'invalid JSON: empty file' });
    return { issues };
  }
  if (root.type !== 'object') {
    return { issues: [{ severity: 'error', code: 'E_SCHEMA', path: [], offset: root.offset, ...position(root.offset), message: 'the config must be a JSON object' }] };
  }

  const raw = getNodeValue(root) as Record<string, unknown>;
  const chains: RawChain[] = [];
  const actionsNode = findNodeAtLocation(root, ['actions']);
  if (actionsNode?.type === 'object') {
    // Chain order comes from the file, not from the parsed object: JS objects put integer-like keys first.
    for (const property of actionsNode.children ?? []) {
      const [keyNode, valueNode] = property.children ?? [];
      if (!keyNode || !valueNode) continue;
      const name = keyNode.value as string;
      const chainPath: PathSegment[] = ['actions', name];
      const isArray = valueNode.type === 'array';
      const steps = isArray
        ? (valueNode.children ?? []).map((stepNode, i) => ({ value: getNodeValue(stepNode), path: [...chainPath, i] }))
        : [];
      chains.push({ name, steps, path: chainPath, isArray });
    }
  }

  const locate = (path: readonly PathSegment[]): number => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = findNodeAtLocation(root, path.slice(0, depth) as PathSegment[]);
      if (node) return keyOffset(node);
    }
    return 0;
  };
  return { config: { file, text, raw, chains, locate, position }, issues: [] };
}

/** Deepest nesting of objects and arrays a config may have (a Pyruse config needs 5). */
export const MAX_JSON_DEPTH = 256;

/** Offset of the first `[` or `{` nested deeper than `limit`, outside strings; undefined if none. */
function firstTooDeep(text: string, limit: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

/** A property value is reported at its key, which is where a reader's eye goes. */
function keyOffset(node: Node): number {
  if (node.parent?.type === 'property' && node.parent.children?.[1] === node) return node.parent.offset;
  return node.offset;
}

function describeParseError(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}
