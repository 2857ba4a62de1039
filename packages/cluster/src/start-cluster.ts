/**
 * `pnpm start:cluster`: a whole cluster on this machine, to watch a failover
 * (docs/cluster.md, "Running a cluster"). Starts a three-member etcd on
 * loopback, writes one operator key, and runs two exchange members, `a` and
 * `b`, on ports 8081 and 8082 (BASE_PORT + 1, + 2): the first to win the
 * election is the sequencer, the other a read replica (and standby). A member that exits (kill
 * it: `kill -9 <pid>`) is started again after a second, as a read replica. Ctrl-C
 * stops everything; the data stays in CLUSTER_DIR (default ./cluster-data)
 * for the next run, except etcd's, which starts empty unless KEEP_ETCD=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { operatorKeyFromSeed } from '@vex/api';
import { LocalEtcdCluster, ensureEtcd } from './local-etcd.js';

async function operatorKeyFile(directory: string): Promise<string> {
  const file = join(directory, 'operator-key.json');
  if (!existsSync(file)) {
    const seed = new Uint8Array(randomBytes(32));
    const secret = Buffer.from(seed).toString('base64');
    await writeFile(file, JSON.stringify({ secret, publicKey: operatorKeyFromSeed(seed).publicKey }), { mode: 0o600 });
  }
  return file;
}

/**
 * How a member is run: from the compiled build (dist/, the packages resolved with the vex-compiled condition) when
 * this module is itself compiled, as `pnpm start:cluster` runs it; under tsx when it runs from source.
 */
const memberCommand = import.meta.url.endsWith('.js')
  ? ['--conditions=vex-compiled', fileURLToPath(new URL('./member-main.js', import.meta.url))]
  : ['--import', 'tsx', fileURLToPath(new URL('./member-main.ts', import.meta.url))];

async function main(): Promise<void> {
  const etcd = ensureEtcd();
  if (!etcd.available) throw new Error(`etcd is not available: ${etcd.reason}`);
  const directory = resolve(process.env.CLUSTER_DIR ?? './cluster-data');
  const basePort = Number(process.env.BASE_PORT ?? '8080');
  const etcdDirectory = join(directory, 'etcd');
  if (process.env.KEEP_ETCD !== '1') await rm(etcdDirectory, { recursive: true, force: true });
  await mkdir(etcdDirectory, { recursive: true });
  // A fresh etcd holds no log: members then start fresh ledgers too (their old entries are not in it).
  if (process.env.KEEP_ETCD !== '1')
    for (const id of ['a', 'b']) await rm(join(directory, id), { recursive: true, force: true });
  const cluster = await LocalEtcdCluster.start({ members: 3, directory: etcdDirectory });
  const keyFile = await operatorKeyFile(directory);
  process.stdout.write(`etcd members: ${cluster.endpoints.join(' ')}\n`);
  let stopping = false;
  const children = new Map<string, ChildProcess>();
  const run = (id: string, port: number): void => {
    const child = spawn(process.execPath, memberCommand, {
      env: {
        ...process.env,
        MEMBER_ID: id,
        DATA_DIR: join(directory, id),
        PORT: String(port),
        ETCD_ENDPOINTS: cluster.endpoints.join(','),
        OPERATOR_KEY_FILE: keyFile,
      },
      stdio: 'inherit',
    });
    children.set(id, child);
    process.stdout.write(
      `member ${id}: pid ${child.pid}, http://127.0.0.1:${port} (GET /ready: role sequencer or replica)\n`,
    );
    child.once('exit', (code, signal) => {
      if (stopping) return;
      process.stdout.write(`member ${id} exited (${signal ?? code}); starting it again as a read replica in 1 s\n`);
      setTimeout(() => run(id, port), 1_000);
    });
  };
  run('a', basePort + 1);
  run('b', basePort + 2);
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const exits = [...children.values()].map((child) => new Promise((done) => child.once('exit', done)));
    for (const child of children.values()) child.kill('SIGTERM');
    await Promise.all(exits);
    await cluster.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
