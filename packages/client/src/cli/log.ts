/** Log commands: downloads of the log, the attestations and the latest snapshot. */
import { download } from './http.js';
import { integer, optional, type Command, type Context } from './command.js';

export const logCommands: Readonly<Record<string, Command>> = {
  'export-attestations': {
    group: 'Log',
    summary: 'Download every attestation (GET /api/v1/attestations/export) to a JSON Lines file.',
    synopsis: 'export-attestations --out <file> [--from <sequence>] [--force]',
    options: {
      out: { type: 'string', value: '<file>', description: 'Destination file.' },
      from: {
        type: 'string',
        value: '<n>',
        description: 'Only attestations at this sequence or later (default: all).',
      },
      force: { type: 'boolean', description: 'Replace --out if it exists.' },
    },
    notes:
      'One attestation per line, in sequence order (docs/attestation.md), written to <file>.partial and renamed ' +
      'once complete.',
    examples: ['exchange export-attestations --out attestations.jsonl'],
    run: async (context) => {
      const fromText = optional(context.values, 'from');
      const from = fromText === undefined ? undefined : integer('from', fromText, Number.MAX_SAFE_INTEGER, 1);
      const saved = await download(
        context,
        `/api/v1/attestations/export${from === undefined ? '' : `?from=${from}`}`,
        'application/x-ndjson',
        'attestation export',
      );
      return { ...saved.result, ...(from !== undefined ? { from } : {}) };
    },
  },
  'export-snapshot': {
    group: 'Log',
    summary: 'Download the latest snapshot record (GET /api/v1/snapshot), for the replayer’s --from-snapshot.',
    synopsis: 'export-snapshot --out <file> [--force]',
    options: {
      out: { type: 'string', value: '<file>', description: 'Destination file.' },
      force: { type: 'boolean', description: 'Replace --out if it exists.' },
    },
    notes: 'The record bytes as stored (docs/log-format.md, "Snapshots"); prints the sequence it follows.',
    examples: ['exchange export-snapshot --out snapshot.bin'],
    run: async (context) => {
      const saved = await download(context, '/api/v1/snapshot', 'application/octet-stream', 'snapshot download');
      const sequence = Number(saved.response.headers.get('x-snapshot-sequence'));
      return { ...saved.result, ...(Number.isSafeInteger(sequence) && sequence > 0 ? { sequence } : {}) };
    },
  },
  'export-log': {
    group: 'Log',
    summary: 'Download the signed transaction log (GET /api/v1/log) to a file.',
    synopsis: 'export-log --out <file> [--from <sequence>] [--force]',
    options: {
      out: { type: 'string', value: '<file>', description: 'Destination file.' },
      from: { type: 'string', value: '<n>', description: 'First sequence number to export (default: the whole log).' },
      force: { type: 'boolean', description: 'Replace --out if it exists.' },
    },
    notes:
      'The bytes are written as the server sends them (format: docs/log-format.md), first to <file>.partial, ' +
      'renamed to <file> once complete.',
    examples: ['exchange export-log --out exchange.log', 'exchange export-log --out tail.log --from 1000'],
    run: (context) => exportLog(context),
  },
};

async function exportLog(context: Context): Promise<unknown> {
  const fromText = optional(context.values, 'from');
  const from = fromText === undefined ? undefined : integer('from', fromText);
  const saved = await download(
    context,
    `/api/v1/log${from === undefined ? '' : `?from=${from}`}`,
    'application/octet-stream',
    'log download',
  );
  return { ...saved.result, ...(from !== undefined ? { from } : {}) };
}
