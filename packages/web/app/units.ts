/**
 * Exact amounts for display: integer units (bigint) as decimal strings in the
 * asset's decimals, written as the API writes them (no trailing zeros, no
 * exponent), and an approximate number for charts only.
 */
export function formatUnits(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return (negative ? '-' : '') + whole + (fraction.length > 0 ? `.${fraction}` : '');
}

/** For charts: loses precision beyond about 15 significant digits, which a chart cannot show anyway. */
export function approximate(units: bigint, decimals: number): number {
  return Number(formatUnits(units, decimals));
}

/** Reads an optional unit string (a canonical non-negative or negative integer) from served JSON. */
export function unitsOf(value: unknown): bigint | undefined {
  if (typeof value !== 'string' || !/^-?(0|[1-9][0-9]*)$/.test(value)) return undefined;
  return BigInt(value);
}

/** "42 s", "3 min", "2 h 5 min", "4 d 3 h": a duration in whole units, for freshness. */
export function formatDuration(milliseconds: number): string {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
