/**
 * One cluster member process (docs/cluster.md, "Running a cluster"):
 *
 *   MEMBER_ID=a PORT=8081 DATA_DIR=./cluster/a ETCD_ENDPOINTS=http://127.0.0.1:2379,… \
 *     OPERATOR_KEY_FILE=./cluster/operator-key.json tsx packages/cluster/src/member-main.ts
 *
 * Settings: MEMBER_ID (letters, digits, . _ -), PORT, HOST (127.0.0.1),
 * DATA_DIR, ETCD_ENDPOINTS (comma-separated client URLs), LOG_PREFIX (the
 * etcd key prefix, default vex/local/), OPERATOR_KEY_FILE (the operator key
 * every member shares), LEASE_TTL_SECONDS (default 5), LOG_LEVEL,
 * PEER_URLS (comma-separated base URLs of other members, asked after the
 * sequencer's for a snapshot to join from or an export to catch up from),
 * SNAPSHOT_EVERY (entries between snapshots), WINDOW_BYTES (the etcd window's
 * byte bound while this member is the sequencer, default 256 MiB). The
 * exchange configuration is the demo one. Prints `member <id> listening on
 * <url>` once the port is bound.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { demoConfig, genesisOf, readOperatorKey } from '@vex/api';
import { pino } from 'pino';
import { ClusterMember } from './cluster-member.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '')
    throw new Error(`${name} must be set (see docs/cluster.md, "Running a cluster")`);
  return value;
}

function optionalPositive(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number`);
  return value;
}

async function main(): Promise<void> {
  const memberId = required('MEMBER_ID');
  const dataDirectory = resolve(required('DATA_DIR'));
  const port = Number(process.env.PORT ?? '0');
  const leaseTtlSeconds = Number(process.env.LEASE_TTL_SECONDS ?? '5');
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`PORT must be 0 to 65535, not ${process.env.PORT}`);
  if (!Number.isInteger(leaseTtlSeconds) || leaseTtlSeconds < 1)
    throw new Error('LEASE_TTL_SECONDS must be a positive whole number');
  const snapshotEveryEntries = optionalPositive('SNAPSHOT_EVERY');
  const windowBytes = optionalPositive('WINDOW_BYTES');
  const peerUrls = (process.env.PEER_URLS ?? '').split(',').filter((url) => url !== '');
  const operator = await readOperatorKey(resolve(required('OPERATOR_KEY_FILE')));
  const config = demoConfig();
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' }).child({ member: memberId });
  await mkdir(dataDirectory, { recursive: true });
  const member = new ClusterMember({
    memberId,
    dataDirectory,
    host: process.env.HOST ?? '127.0.0.1',
    port,
    endpoints: required('ETCD_ENDPOINTS').split(','),
    prefix: process.env.LOG_PREFIX ?? 'vex/local/',
    config,
    genesis: genesisOf(config, operator.publicKey),
    operator,
    leaseTtlSeconds,
    logger,
    peerUrls,
    ...(snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries }),
    ...(windowBytes === undefined ? {} : { windowBytes }),
  });
  const bound = await member.start();
  process.stdout.write(`member ${memberId} listening on http://127.0.0.1:${bound}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    void member.stop().finally(() => process.exit(process.exitCode ?? 0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
