import { describe, expect, it } from 'vitest';
import { ExportSlots } from './export-slots.js';

describe('the bound on exports in progress', () => {
  it('holds at most the total and the per-IP number, and frees a slot once', () => {
    const slots = new ExportSlots({ maximumConcurrentExports: 3, maximumConcurrentExportsPerIp: 2 });
    const first = slots.acquire('a')!;
    expect(slots.acquire('a')).toBeDefined();
    expect(slots.acquire('a')).toBeUndefined();
    expect(slots.acquire('b')).toBeDefined();
    expect(slots.acquire('c')).toBeUndefined();
    expect(slots.inProgress).toBe(3);
    first();
    first();
    expect(slots.inProgress).toBe(2);
    expect(slots.acquire('c')).toBeDefined();
    expect(slots.acquire('d')).toBeUndefined();
  });
});
