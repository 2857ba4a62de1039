/**
 * CPU of authenticating one signed order on the sequencing thread, apart from HTTP and the node:
 * `npx tsx packages/api/bench/authenticate.bench.ts [--calls 200000] [--rounds 5]`.
 *
 * Calls `authenticate` (signed-request.ts) as a transaction route does, on a request object carrying the four
 * signature headers and a typical order body (the load generator's fields; every value unreserved, so one
 * signing-string candidate), and prints the process CPU per call for each round. Beside it, `parseSigningString`
 * over the same message, the parse the engine's apply repeats per entry.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { FastifyRequest } from 'fastify';
import { parseSigningString } from '@vex/engine';
import { authenticate } from '../src/signed-request.js';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' } },
});
const calls = Number(values.calls);
const rounds = Number(values.rounds);

const body = {
  symbol: 'SOL_USDC',
  side: 'Bid',
  orderType: 'Limit',
  quantity: '1.25',
  price: '101.50',
  clientId: 1234567,
  timeInForce: 'GTC',
};
const message =
  'instruction=orderExecute&clientId=1234567&orderType=Limit&price=101.50&quantity=1.25&side=Bid' +
  '&symbol=SOL_USDC&timeInForce=GTC&timestamp=1733550000000&window=5000';
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
// The raw key is the last 32 bytes of its SPKI encoding.
const rawPublicKey = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
const request = {
  headers: {
    'x-api-key': rawPublicKey.toString('base64'),
    'x-signature': sign(null, Buffer.from(message), privateKey).toString('base64'),
    'x-timestamp': '1733550000000',
    'x-window': '5000',
  },
  method: 'POST',
  routeOptions: { url: '/api/v1/order' },
  url: '/api/v1/order',
  raw: { url: '/api/v1/order' },
  body,
} as unknown as FastifyRequest;

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

const messageBytes = new TextEncoder().encode(message);
let checked = 0;
for (let round = 0; round < rounds; round += 1) {
  let start = cpuUs();
  for (let call = 0; call < calls; call += 1) {
    const { transaction } = authenticate(request, { kind: 'transaction', clock: () => 0 });
    checked += transaction.message.length === messageBytes.length ? 1 : 0;
  }
  const authenticateUs = (cpuUs() - start) / calls;
  start = cpuUs();
  for (let call = 0; call < calls; call += 1) checked += parseSigningString(messageBytes).ok ? 1 : 0;
  const parseUs = (cpuUs() - start) / calls;
  console.log(`authenticate ${authenticateUs.toFixed(2)} µs per call; parseSigningString ${parseUs.toFixed(2)} µs`);
}
if (checked !== 2 * calls * rounds) throw new Error('a signing string differed from the signed message');
