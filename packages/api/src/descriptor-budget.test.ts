import { describe, expect, it } from 'vitest';
import { connectionBudget, parseOpenFileLimit } from './descriptor-budget.js';

const limits = (soft: string, hard: string): string =>
  `Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            ${soft}                ${hard}                files     \n`;

describe('the descriptor budget', () => {
  it('reads the open-file limit from /proc/<pid>/limits', () => {
    expect(parseOpenFileLimit(limits('20000', '20000'))).toEqual({ soft: 20_000, hard: 20_000 });
    expect(parseOpenFileLimit(limits('1024', '524288'))).toEqual({ soft: 1024, hard: 524_288 });
    expect(parseOpenFileLimit(limits('unlimited', 'unlimited'))?.soft).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseOpenFileLimit('no such line')).toBeUndefined();
  });

  it('lowers the connection bound to the limit minus the storage reserve, and refuses a limit too small to serve', () => {
    expect(connectionBudget({ soft: 20_000, hard: 20_000 }, 1_200, 10_000)).toBe(10_000);
    expect(connectionBudget({ soft: 4_096, hard: 4_096 }, 1_200, 10_000)).toBe(2_896);
    expect(connectionBudget(undefined, 1_200, 10_000)).toBe(10_000);
    expect(() => connectionBudget({ soft: 1_024, hard: 1_024 }, 1_200, 10_000)).toThrow(
      /Raise the hard limit .* or lower DESCRIPTOR_RESERVE/,
    );
    expect(connectionBudget({ soft: 1_024, hard: 1_024 }, 512, 10_000)).toBe(512);
  });
});
