// YAML → plain values, keeping where every mapping, key and sequence item came from.
// js-yaml builds values without positions; its `listener` option reports every node's open and
// close in document order (js-yaml lib/loader.js, composeNode), which we nest into a tree and
// attach to the built objects.

import yaml from 'js-yaml';

export interface Pos {
  /** 1-based line and column. */
  line: number;
  col: number;
}

interface NodeRec {
  pos: Pos;
  kind: string | null;
  result: unknown;
  children: NodeRec[];
}

interface ObjPos {
  pos: Pos;
  keys: Map<string, Pos>;
  items: Pos[];
}

export interface YamlDoc {
  index: number;
  value: unknown;
  pos: Pos;
}

export interface YamlError {
  doc: number;
  line: number;
  col: number;
  message: string;
}

export interface ParsedYaml {
  docs: YamlDoc[];
  error?: YamlError;
  /** Where an object (or one of its keys / items) was written. */
  posOf(obj: unknown, key?: string | number): Pos | undefined;
}

export function parseYaml(text: string): ParsedYaml {
  const positions = new WeakMap<object, ObjPos>();
  const stack: NodeRec[] = [{ pos: { line: 1, col: 1 }, kind: null, result: undefined, children: [] }];
  const docs: YamlDoc[] = [];
  let error: YamlError | undefined;

  const listener = (event: 'open' | 'close', state: yaml.State & { lineStart: number; kind: string | null; result: unknown }) => {
    if (event === 'open') {
      stack.push({ pos: { line: state.line + 1, col: state.position - state.lineStart + 1 }, kind: null, result: undefined, children: [] });
      return;
    }
    const rec = stack.pop()!;
    rec.kind = state.kind;
    rec.result = state.result;
    stack[stack.length - 1]!.children.push(rec);
    record(rec, positions);
  };

  try {
    // loadAll parses every document before calling back; each document's root node closes
    // as one child of our root record, in order.
    const values = yaml.loadAll(text, undefined, { listener: listener as never });
    const roots = stack[0]!.children;
    values.forEach((value, index) => docs.push({ index, value, pos: roots[index]?.pos ?? { line: 1, col: 1 } }));
  } catch (e) {
    if (e instanceof yaml.YAMLException) {
      const mark = (e as yaml.YAMLException & { mark?: { line: number; column: number } }).mark;
      error = {
        doc: stack[0]!.children.length,
        line: (mark?.line ?? 0) + 1,
        col: (mark?.column ?? 0) + 1,
        message: e.reason ?? e.message,
      };
    } else {
      throw e;
    }
  }

  return {
    docs,
    error,
    posOf(obj, key) {
      if (obj === null || typeof obj !== 'object') return undefined;
      const p = positions.get(obj);
      if (!p) return undefined;
      if (key === undefined) return p.pos;
      return (typeof key === 'number' ? p.items[key] : p.keys.get(key)) ?? p.pos;
    },
  };
}

/** Store the positions of a closed mapping's keys or a sequence's items. */
function record(rec: NodeRec, positions: WeakMap<object, ObjPos>) {
  const value = rec.result;
  if (value === null || typeof value !== 'object' || positions.has(value)) return;
  const kids = rec.children;
  if (rec.kind === 'mapping') {
    // Children alternate key, value; a trailing empty node (end of document) is dropped.
    const keys = new Map<string, Pos>();
    for (let i = 0; i + 1 < kids.length || (i < kids.length && kids.length % 2 === 0); i += 2) {
      const k = kids[i]!;
      if (typeof k.result === 'string' || typeof k.result === 'number') keys.set(String(k.result), k.pos);
    }
    positions.set(value, { pos: rec.pos, keys, items: [] });
  } else if (rec.kind === 'sequence') {
    positions.set(value, { pos: rec.pos, keys: new Map(), items: kids.map((k) => firstContent(k).pos) });
  }
}

/** A sequence item's node may wrap its content in an extra level; the content holds the position. */
function firstContent(rec: NodeRec): NodeRec {
  return rec.children.length === 1 && rec.children[0]!.result === rec.result ? rec.children[0]! : rec;
}
