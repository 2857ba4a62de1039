/**
 * A local etcd cluster for tests, CI and trying cluster mode on one machine:
 * N members on 127.0.0.1 with free ports and temporary data directories,
 * started, killed and restarted by pid. etcd itself comes from PATH, or is
 * installed by scripts/install-etcd.sh (Debian's etcd-server, as root).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePortBelowEphemeralRange } from '@vex/api';
import { Etcd3 } from 'etcd3';

const installScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'install-etcd.sh');

export type EtcdAvailability =
  | { readonly available: true; readonly version: string }
  | { readonly available: false; readonly reason: string };

function etcdVersion(): string | undefined {
  const result = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return result.stdout.split('\n')[0]?.trim();
}

/** Finds etcd on PATH, installing it with scripts/install-etcd.sh when it is missing. */
export function ensureEtcd(): EtcdAvailability {
  const found = etcdVersion();
  if (found !== undefined) return { available: true, version: found };
  const install = spawnSync('bash', [installScript], { encoding: 'utf8', timeout: 600_000 });
  const installed = etcdVersion();
  if (installed !== undefined) return { available: true, version: installed };
  const output = `${install.stderr ?? ''}${install.stdout ?? ''}`.trim().split('\n').slice(-5).join(' | ');
  return {
    available: false,
    reason: `etcd is not on PATH and scripts/install-etcd.sh could not install it (${install.error?.message ?? `exit ${install.status}`}: ${output})`,
  };
}

export interface LocalEtcdOptions {
  readonly members?: number;
  /** etcd's --snapshot-count (default 5,000; etcd's own default made members grow to gigabytes of memory). */
  readonly snapshotCount?: number;
  /** etcd's --quota-backend-bytes, when set. */
  readonly quotaBackendBytes?: number;
  /** Where the members' data directories go (default: a fresh temporary directory, removed by stop()). */
  readonly directory?: string;
}

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDirectory: string;
  readonly logFile: string;
  process: ChildProcess | undefined;
}

const running = new Set<LocalEtcdCluster>();
process.on('exit', () => {
  for (const cluster of running) cluster.killAllNow();
});

export class LocalEtcdCluster {
  private constructor(
    private readonly members: Member[],
    private readonly arguments_: (member: Member) => string[],
    readonly directory: string,
    private readonly ownsDirectory: boolean,
  ) {}

  static async start(options: LocalEtcdOptions = {}): Promise<LocalEtcdCluster> {
    const count = options.members ?? 3;
    const ownsDirectory = options.directory === undefined;
    const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'vex-etcd-'));
    mkdirSync(directory, { recursive: true });
    const members: Member[] = [];
    for (let index = 0; index < count; index += 1) {
      const name = `member${index + 1}`;
      members.push({
        name,
        clientUrl: `http://127.0.0.1:${await freePortBelowEphemeralRange()}`,
        peerUrl: `http://127.0.0.1:${await freePortBelowEphemeralRange()}`,
        dataDirectory: join(directory, name),
        logFile: join(directory, `${name}.log`),
        process: undefined,
      });
    }
    const initialCluster = members.map((member) => `${member.name}=${member.peerUrl}`).join(',');
    const token = `vex-${process.pid}-${Date.now()}`;
    const argumentsOf = (member: Member): string[] => [
      `--name=${member.name}`,
      `--data-dir=${member.dataDirectory}`,
      `--listen-client-urls=${member.clientUrl}`,
      `--advertise-client-urls=${member.clientUrl}`,
      `--listen-peer-urls=${member.peerUrl}`,
      `--initial-advertise-peer-urls=${member.peerUrl}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${token}`,
      '--initial-cluster-state=new',
      `--snapshot-count=${options.snapshotCount ?? 5_000}`,
      ...(options.quotaBackendBytes === undefined ? [] : [`--quota-backend-bytes=${options.quotaBackendBytes}`]),
      '--logger=zap',
      '--log-outputs=stderr',
    ];
    const cluster = new LocalEtcdCluster(members, argumentsOf, directory, ownsDirectory);
    running.add(cluster);
    try {
      for (let index = 0; index < count; index += 1) cluster.spawnMember(index);
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get endpoints(): string[] {
    return this.members.map((member) => member.clientUrl);
  }

  get size(): number {
    return this.members.length;
  }

  pid(index: number): number | undefined {
    return this.members[index]?.process?.pid;
  }

  private spawnMember(index: number): void {
    const member = this.members[index]!;
    if (member.process !== undefined) throw new Error(`${member.name} is running`);
    const log = openSync(member.logFile, 'a');
    const child = spawn('etcd', this.arguments_(member), { stdio: ['ignore', log, log] });
    closeSync(log);
    member.process = child;
    child.on('exit', () => {
      if (member.process === child) member.process = undefined;
    });
  }

  /** kill -9 (or another signal) of member `index`, waiting until it has exited. */
  async kill(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.members[index]?.process;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.members.map((_, index) => this.kill(index)));
  }

  /** Starts member `index` again on its data directory and ports. */
  async restart(index: number): Promise<void> {
    this.spawnMember(index);
    await this.waitHealthy([index]);
  }

  async restartAll(): Promise<void> {
    for (let index = 0; index < this.members.length; index += 1)
      if (this.members[index]!.process === undefined) this.spawnMember(index);
    await this.waitHealthy();
  }

  /** Waits until the given members (default all) answer /health with a leader elected. */
  async waitHealthy(
    indexes: readonly number[] = this.members.map((_, index) => index),
    timeoutMs = 30_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const index of indexes) {
      const member = this.members[index]!;
      for (;;) {
        if (member.process === undefined)
          throw new Error(`etcd ${member.name} exited while starting; see ${member.logFile}`);
        try {
          const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(2_000) });
          const body = (await response.json()) as { health?: string };
          if (body.health === 'true') break;
        } catch {
          // Not listening yet, or no leader yet.
        }
        if (Date.now() > deadline)
          throw new Error(`etcd ${member.name} was not healthy within ${timeoutMs} ms; see ${member.logFile}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** The index of the member that is the Raft leader now. */
  async leaderIndex(): Promise<number> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      for (let index = 0; index < this.members.length; index += 1) {
        const member = this.members[index]!;
        if (member.process === undefined) continue;
        const client = new Etcd3({ hosts: member.clientUrl, dialTimeout: 2_000 });
        try {
          const status = await client.maintenance.status({ deadline: Date.now() + 2_000 });
          if (status.leader === status.header.member_id) return index;
        } catch {
          // Try the next member.
        } finally {
          client.close();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('no etcd member reports being the leader');
  }

  /** The backend database size of member `index`, as etcd reports it. */
  async databaseSizeBytes(index: number): Promise<number> {
    const client = new Etcd3({ hosts: this.members[index]!.clientUrl, dialTimeout: 2_000 });
    try {
      const status = await client.maintenance.status({ deadline: Date.now() + 5_000 });
      return Number(status.dbSize);
    } finally {
      client.close();
    }
  }

  /** Synchronous kill -9 of every member, for process exit. */
  killAllNow(): void {
    for (const member of this.members) member.process?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.killAll();
    running.delete(this);
    if (this.ownsDirectory) rmSync(this.directory, { recursive: true, force: true });
  }
}
