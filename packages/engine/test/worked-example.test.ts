/**
 * docs/worked-example.md must hold exactly the values the engine computes
 * (worked-example.ts): every `name = value` line of its ```text blocks is
 * compared, and every computed value must appear. If the encoding, a hash or
 * a signing rule changes, this fails until the document is updated with it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { workedExampleValues } from './worked-example.js';

const documentPath = fileURLToPath(new URL('../../../docs/worked-example.md', import.meta.url));

function documentedValues(): Map<string, string> {
  const text = readFileSync(documentPath, 'utf8');
  const values = new Map<string, string>();
  for (const block of text.matchAll(/```text\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const match = /^([a-zA-Z][\w.]*) = (.*)$/.exec(line);
      if (match === null) continue;
      if (values.has(match[1]!)) throw new Error(`docs/worked-example.md gives ${match[1]} twice`);
      values.set(match[1]!, match[2]!);
    }
  }
  return values;
}

describe('docs/worked-example.md', () => {
  it('holds exactly the values the engine computes, every one of them', () => {
    const computed = workedExampleValues();
    const documented = documentedValues();
    expect([...documented.keys()].sort()).toEqual([...computed.keys()].sort());
    for (const [key, value] of computed) expect(documented.get(key), key).toBe(value);
  });
});

describe('docs/vectors', () => {
  it('publishes the pinned vectors byte for byte', () => {
    for (const name of ['signature-vectors.json', 'signing-string-vectors.json']) {
      const published = readFileSync(fileURLToPath(new URL(`../../../docs/vectors/${name}`, import.meta.url)));
      const pinned = readFileSync(fileURLToPath(new URL(`../src/${name}`, import.meta.url)));
      expect(published.equals(pinned), name).toBe(true);
    }
  });
});
