/**
 * Every cluster test file starts here: etcd must be available (installed by
 * scripts/install-etcd.sh when missing). If it cannot be installed the tests
 * are skipped under a title that says why, and a warning is printed; with
 * VEX_REQUIRE_ETCD=1 (CI can set it) that is a failure instead.
 */
import { describe, it } from 'vitest';
import { ensureEtcd } from '../src/index.js';

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
