/**
 * The divergence of an entry the engine rejects on replay (docs/replayer.md,
 * check `transition`): a forged price, an unjustified liquidation, an
 * unauthorised instruction. It names the entry by sequence and instruction and
 * gives the rejection's code, its machine-readable reason and its message.
 */
import { parseSigningString, type LogExportEntry, type Rejection } from '@vex/engine';
import type { Divergence } from './divergence.js';

/** The entry's instruction names, as ` (liquidate)`; empty if its message does not parse (the engine said why). */
function instructionNames(entry: LogExportEntry): string {
  const parsed = parseSigningString(entry.transaction.message);
  return parsed.ok ? ` (${parsed.value.groups.map((group) => group.instruction).join(', ')})` : '';
}

export function transitionDivergence(entry: LogExportEntry, rejection: Rejection): Divergence {
  const { code, message, reason } = rejection;
  const why = reason === undefined ? code : `${code}:${reason}`;
  return {
    sequence: entry.sequence,
    check: 'transition',
    expected: 'accepted',
    computed: `rejected: ${why} (${message})`,
    message: `the engine rejects entry ${entry.sequence}${instructionNames(entry)}: ${why}: ${message}`,
  };
}
