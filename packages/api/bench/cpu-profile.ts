/**
 * The CPU profile of the node benchmark's server main thread (a V8
 * .cpuprofile): self time per category of code and inclusive time of a few
 * key functions, for node.bench.ts's report.
 */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

function categoryOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle (waiting for I/O)';
  if (functionName === '(program)') return 'native / V8 (program)';
  if (functionName === '(root)') return 'native / V8 (program)';
  if (url.includes('packages/engine/src/request-signing') || url.includes('packages/engine/src/signing-string'))
    return 'signing strings (rebuild + parse)';
  if (url.includes('packages/engine/src/signature')) return 'engine signature (main thread)';
  if (url.includes('packages/engine/src/state-codec')) return 'engine state codec';
  if (url.includes('packages/engine/src')) return 'engine apply (matching, funds, replay protection)';
  if (url.includes('packages/ledger/src/history')) return 'ledger history records';
  if (url.includes('packages/engine/src/log-format')) return 'ledger entry encode + hash';
  if (url.includes('packages/ledger/src/signature-pool') || url.includes('/piscina/'))
    return 'verification dispatch (pool + piscina)';
  if (url.includes('packages/ledger/src')) return 'ledger sequencer / node';
  if (
    url.includes('classic-level') ||
    url.includes('abstract-level') ||
    url.includes('/level-') ||
    url.includes('/level/')
  )
    return 'LevelDB (JS side of batch)';
  if (url.includes('packages/api/src/wire-format')) return 'api wire format (responses)';
  if (url.includes('packages/api/src')) return 'api handlers + auth';
  if (url.includes('fast-json-stringify')) return 'fastify response serialisation';
  if (url.includes('/ajv') || url.includes('fast-uri')) return 'fastify schema (ajv)';
  if (url.includes('/pino') || url.includes('sonic-boom') || url.includes('thread-stream')) return 'logging (pino)';
  if (
    url.includes('/fastify/') ||
    url.includes('find-my-way') ||
    url.includes('avvio') ||
    url.includes('/@fastify/') ||
    url.includes('secure-json-parse') ||
    url.includes('toad-cache') ||
    url.includes('fast-querystring')
  )
    return 'fastify core (routing, hooks, reply, JSON parse)';
  if (url === '' && functionName !== '') return 'generated code (ajv validators, serializers) / builtins';
  if (url.startsWith('node:internal/http') || url.startsWith('node:_http') || url.includes('_http_'))
    return 'node http (parser, responses)';
  if (
    url.startsWith('node:internal/stream') ||
    url.startsWith('node:net') ||
    url.startsWith('node:internal/net') ||
    url.startsWith('node:stream')
  )
    return 'node streams + sockets';
  if (url.startsWith('node:')) return 'node internals (other)';
  if (url.includes('tsx') || url.includes('esbuild')) return 'tsx loader';
  return url === '' ? 'native / V8 (program)' : `other (${url.split('/').slice(-2).join('/')})`;
}

/**
 * Self time per category and inclusive time of a few key functions, in ms;
 * only the samples taken inside `windowMicros` ([from, to] on the profile's
 * clock, the monotonic clock that process.hrtime reads) when it is given.
 */
export function analyseProfile(
  profile: CpuProfile,
  windowMicros?: readonly [number, number],
): {
  totalMs: number;
  byCategory: Array<[string, number]>;
  inclusive: Array<[string, number]>;
  topSelf: Array<[string, number]>;
} {
  const selfMs = new Map<number, number>();
  let sampledAtMicros = profile.startTime;
  profile.samples.forEach((id, index) => {
    const deltaMicros = profile.timeDeltas[index] ?? 0;
    sampledAtMicros += deltaMicros;
    if (windowMicros !== undefined && (sampledAtMicros < windowMicros[0] || sampledAtMicros > windowMicros[1])) return;
    selfMs.set(id, (selfMs.get(id) ?? 0) + deltaMicros / 1000);
  });
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byCategory = new Map<string, number>();
  const topSelf = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id)!;
    totalMs += ms;
    const category = categoryOf(node.callFrame);
    byCategory.set(category, (byCategory.get(category) ?? 0) + ms);
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    topSelf.set(name, (topSelf.get(name) ?? 0) + ms);
  }
  // Inclusive time of key functions: a sample counts once per function even under recursion.
  const keys: Array<[string, (frame: ProfileNode['callFrame']) => boolean]> = [
    [
      'authenticate (headers, signing-string candidates, parse)',
      (f) => f.functionName === 'authenticate' && f.url.includes('signed-request'),
    ],
    ['ExchangeNode.submit (copy, hand to pool)', (f) => f.functionName === 'submit' && f.url.includes('exchange-node')],
    [
      'ExchangeNode.sequence (apply, encode, hash, history)',
      (f) => f.functionName === 'sequence' && f.url.includes('exchange-node'),
    ],
    ['  engine apply', (f) => f.functionName === 'apply' && f.url.includes('engine/src/apply')],
    ['  historyOperations', (f) => f.functionName === 'historyOperations'],
    ['  encodeAndHashEntry', (f) => f.functionName === 'encodeAndHashEntry'],
    [
      'ExchangeNode.writeNext (LevelDB batch call)',
      (f) => f.functionName === 'writeNext' && f.url.includes('exchange-node'),
    ],
    ['ExchangeNode.written (resolve submits)', (f) => f.functionName === 'written' && f.url.includes('exchange-node')],
    [
      'SignaturePool.flush (pack + post to workers)',
      (f) => f.functionName === 'flush' && f.url.includes('signature-pool'),
    ],
    ['wireOrder (response object)', (f) => f.functionName === 'wireOrder'],
    ['route handler POST /api/v1/order and DELETE', (f) => f.url.includes('routes-orders') && f.functionName === ''],
    ['pino / request logging', (f) => f.url.includes('/pino/')],
  ];
  const inclusive = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const seen = new Set<string>();
    for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) {
      const frame = byId.get(cursor)!.callFrame;
      for (const [label, match] of keys) {
        if (!seen.has(label) && match(frame)) {
          seen.add(label);
          inclusive.set(label, (inclusive.get(label) ?? 0) + ms);
        }
      }
    }
  }
  const sorted = (map: Map<string, number>): Array<[string, number]> => [...map].sort((a, b) => b[1] - a[1]);
  return {
    totalMs,
    byCategory: sorted(byCategory),
    inclusive: keys.map(([label]) => [label, inclusive.get(label) ?? 0] as [string, number]),
    topSelf: sorted(topSelf).slice(0, 25),
  };
}
