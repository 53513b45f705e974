import { describe, expect, it } from 'vitest';
import { keysInFileOrder, locateJsonPath } from '../../src/config/json-locate.js';

const text = `{
  "a": "x \\\\\\" } ] still a string",
  "actions": {
    "2": [ { "filter": "f", "args": { "re": "^\\\\[(?P<x>[^\\\\]]+)\\\\]" } } ],
    "1": [ 10, -2.5e3, true, null, { "k": [ "]", "}" ] }, { "last": 1 } ]
  },
  "a": 2
}`;

describe('positions found by scanning a JSON text', () => {
  it('a property is found at its key, an element at its start, through strings holding quotes, brackets and braces', () => {
    expect(JSON.parse(text).a).toBe(2);
    expect(text.slice(locateJsonPath(text, ['actions', '2', 0, 'args', 're']))).toMatch(/^"re": /);
    expect(text.slice(locateJsonPath(text, ['actions', '1', 5]))).toMatch(/^\{ "last": 1 \}/);
    expect(text.slice(locateJsonPath(text, ['actions', '1', 4, 'k', 1]))).toMatch(/^"\}" \]/);
  });

  it('a missing path gives the deepest node that exists, and a repeated key the one JSON.parse keeps', () => {
    expect(text.slice(locateJsonPath(text, ['actions', '1', 9, 'args']))).toMatch(/^"1": \[ 10/);
    expect(text.slice(locateJsonPath(text, ['a']))).toMatch(/^"a": 2/);
    expect(locateJsonPath(text, [])).toBe(0);
  });

  it('lists the keys of an object in file order, integer-like ones included', () => {
    expect(keysInFileOrder(text, ['actions'])).toEqual(['2', '1']);
    expect(Object.keys(JSON.parse(text).actions)).toEqual(['1', '2']);
  });

  it('texts asked about in turn each get their own positions (the scan of the last text is reused only for it)', () => {
    const other = '{\n  "actions": { "1": [ { "x": 1 } ] }\n}';
    for (let round = 0; round < 2; round++) {
      expect(text.slice(locateJsonPath(text, ['actions', '1', 5]))).toMatch(/^\{ "last": 1 \}/);
      expect(other.slice(locateJsonPath(other, ['actions', '1', 0, 'x']))).toMatch(/^"x": 1/);
    }
  });
});
