/**
 * What handing signatures to the verifier threads costs, apart from the verification itself:
 * `npx tsx packages/api/bench/signature-handoff.bench.ts [--flush 8] [--signatures 40000] [--rounds 3]`.
 *
 * Submits signed 143-byte messages to a `SignaturePool` (one verifier thread, inline verification off) in
 * flushes of `--flush` requests per event-loop turn, the next flush once the previous one's verdicts are in
 * (so each flush wakes the thread, as at moderate load), and reads the CPU time of the main thread (from
 * /proc) and of the whole process. Beside it, the same messages verified inline on the main thread. The
 * hand-off's cost per signature is the process's CPU per signature through the pool less the inline
 * verification's.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { publicKeyFromSeed, signMessage, verifySignature, type SignedTransaction } from '@vex/engine';
import { SignaturePool } from '@vex/ledger';

const { values } = parseArgs({
  options: {
    flush: { type: 'string', default: '8' },
    signatures: { type: 'string', default: '40000' },
    rounds: { type: 'string', default: '3' },
    handoff: { type: 'string', default: 'messages' },
  },
});
const flushSize = Number(values.flush);
const signatures = Number(values.signatures);
const rounds = Number(values.rounds);

/** CPU µs of the main thread (its task's utime + stime, in clock ticks of 10 ms: coarse, so runs are long). */
function mainThreadCpuUs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function processCpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

const transactions: SignedTransaction[] = [];
for (let index = 0; index < 1_000; index += 1) {
  const seed = new Uint8Array(32).fill(index % 251);
  seed[1] = index >> 8;
  const message = new TextEncoder().encode(
    `instruction=orderExecute&clientId=${1_000_000 + index}&orderType=Limit&price=101.50&quantity=1.25` +
      `&side=Bid&symbol=SOL_USDC&timeInForce=GTC&timestamp=1733550000000&window=5000`,
  );
  transactions.push({ publicKey: publicKeyFromSeed(seed), message, signature: signMessage(seed, message) });
}

async function throughPool(pool: SignaturePool): Promise<{ main: number; total: number }> {
  const main0 = mainThreadCpuUs();
  const total0 = processCpuUs();
  for (let sent = 0; sent < signatures; sent += flushSize) {
    const pending: Promise<unknown>[] = [];
    for (let index = 0; index < flushSize; index += 1)
      pending.push(pool.verify(transactions[(sent + index) % transactions.length]!));
    const verdicts = await Promise.all(pending);
    if (verdicts.some((verdict) => verdict !== 'valid')) throw new Error('a signature did not verify');
  }
  return { main: (mainThreadCpuUs() - main0) / signatures, total: (processCpuUs() - total0) / signatures };
}

function inline(): number {
  const total0 = processCpuUs();
  for (let index = 0; index < signatures; index += 1) {
    const { publicKey, message, signature } = transactions[index % transactions.length]!;
    if (verifySignature(publicKey, message, signature) !== 'valid') throw new Error('a signature did not verify');
  }
  return (processCpuUs() - total0) / signatures;
}

const handoff = values.handoff === 'ring' ? 'ring' : 'messages';
const pool = new SignaturePool(1, 0, handoff);
await throughPool(pool);
inline();
for (let round = 0; round < rounds; round += 1) {
  const alone = inline();
  const handed = await throughPool(pool);
  console.log(
    `${handoff}, flush ${flushSize}: inline ${alone.toFixed(1)} µs per signature; ` +
      `through the pool ${handed.total.toFixed(1)} µs (main thread ${handed.main.toFixed(1)} µs); ` +
      `hand-off ${(handed.total - alone).toFixed(1)} µs per signature`,
  );
}
await pool.close();
