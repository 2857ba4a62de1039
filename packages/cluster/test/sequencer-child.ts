/**
 * A sequencer in a process of its own, for the stale-sequencer test: it wins
 * the election, then appends batches of five entries one after another,
 * printing one JSON line per acknowledged batch, and one line saying why it
 * stopped when an append is refused. Arguments: a JSON object with
 * endpoints, prefix and leaseTtlSeconds.
 */
import { EtcdLogStore } from '../src/index.js';
import { EntryMaker, hex, testGenesisHash } from './entries.js';

const { endpoints, prefix, leaseTtlSeconds } = JSON.parse(process.argv[2]!) as {
  endpoints: string[];
  prefix: string;
  leaseTtlSeconds: number;
};
const store = await EtcdLogStore.open({ endpoints, prefix, genesisHash: testGenesisHash });
const appender = await store.campaign({ sequencerId: `child-${process.pid}`, leaseTtlSeconds });
const maker = new EntryMaker(appender.durableHead());
console.log(JSON.stringify({ leader: appender.fence, head: appender.durableHead().sequence }));
for (;;) {
  try {
    const head = await appender.append(maker.next(5, 100, 'child'));
    console.log(JSON.stringify({ ack: head.sequence, hash: hex(head.entryHash) }));
  } catch (error) {
    console.log(JSON.stringify({ stopped: (error as Error).name, message: (error as Error).message }));
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}
store.close();
process.exit(0);
