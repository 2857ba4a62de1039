/**
 * Every cluster test file starts here: etcd must be available (installed by
 * scripts/install-etcd.sh when missing). If it cannot be installed the tests
 * are skipped under a title that says why, and a warning is printed; with
 * VEX_REQUIRE_ETCD=1 (CI can set it) that is a failure instead.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { EtcdLogStore, LocalEtcdCluster, ensureEtcd } from '../src/index.js';
import { testGenesisHash } from './entries.js';

export const etcd = ensureEtcd();

if (!etcd.available) {
  if (process.env.VEX_REQUIRE_ETCD === '1') throw new Error(`VEX_REQUIRE_ETCD=1 but ${etcd.reason}`);
  console.warn(`\n*** cluster tests SKIPPED: ${etcd.reason}\n`);
}

/** `describe` when etcd is available; otherwise one skipped test whose title is the reason. */
export function describeWithEtcd(title: string, body: () => void): void {
  if (etcd.available) describe(title, body);
  else describe(title, () => it.skip(`SKIPPED, etcd unavailable: ${etcd.reason}`, () => undefined));
}

/** CI scale by default; CLUSTER_SCALE=full for the long run. */
export const fullScale = process.env.CLUSTER_SCALE === 'full';

/**
 * Registers, in the calling describe block, a three-member cluster started
 * before its tests and stopped after them, and an `openStore` whose stores are
 * closed with it. `cluster()` is the running cluster (valid inside tests).
 */
export function useThreeMemberCluster(): {
  cluster: () => LocalEtcdCluster;
  openStore: (prefix: string) => Promise<EtcdLogStore>;
} {
  let cluster: LocalEtcdCluster | undefined;
  const stores: EtcdLogStore[] = [];
  beforeAll(async () => {
    cluster = await LocalEtcdCluster.start({ members: 3 });
  });
  afterAll(async () => {
    for (const store of stores) store.close();
    await cluster?.stop();
  });
  const running = (): LocalEtcdCluster => {
    if (cluster === undefined) throw new Error('the etcd cluster is not running');
    return cluster;
  };
  const openStore = async (prefix: string): Promise<EtcdLogStore> => {
    const store = await EtcdLogStore.open({ endpoints: running().endpoints, prefix, genesisHash: testGenesisHash });
    stores.push(store);
    return store;
  };
  return { cluster: running, openStore };
}
