/**
 * Cluster member processes for the tests: `member-main.ts` children with one
 * shared operator key, each restartable on its own port and data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeEntry, encodeSigningString, genesisHash, signMessage, type Genesis } from '@vex/engine';
import { demoConfig, genesisOf, operatorKeyFromSeed, type OperatorKey } from '@vex/api';
import { EtcdLogStore } from '../src/index.js';

export interface MemberProcess {
  readonly id: string;
  readonly directory: string;
  url: string | undefined;
  process: ChildProcess | undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A POST /api/v1/transactions answer: status 0 when the member did not answer; `sequencer` from x-vex-sequencer. */
export interface PostAnswer {
  readonly status: number;
  readonly answer: Record<string, unknown>;
  readonly sequencer?: string;
  /** The Retry-After header, when there is one. */
  readonly retryAfter?: string;
}

export async function postTransaction(member: MemberProcess, body: string): Promise<PostAnswer> {
  try {
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(10_000),
    };
    const response = await fetch(`${member.url}/api/v1/transactions`, init);
    const answer = (await response.json()) as Record<string, unknown>;
    const sequencer = response.headers.get('x-vex-sequencer') ?? undefined;
    const retryAfter = response.headers.get('retry-after') ?? undefined;
    return {
      status: response.status,
      answer,
      ...(sequencer === undefined ? {} : { sequencer }),
      ...(retryAfter === undefined ? {} : { retryAfter }),
    };
  } catch {
    return { status: 0, answer: {} };
  }
}

/** The log in etcd, read whole (the read checks contiguity and the chain). */
export interface LoggedMessages {
  /** Every message with the number of times it is in the log. */
  readonly messages: Map<string, number>;
  /** The sequences read, in order. */
  readonly sequences: number[];
  /** Open on the log: the caller closes it. */
  readonly store: EtcdLogStore;
}

export class MemberProcesses {
  readonly members: MemberProcess[];
  readonly seed = new Uint8Array(randomBytes(32));
  readonly operator: OperatorKey = operatorKeyFromSeed(this.seed);
  readonly genesis: Genesis = genesisOf(demoConfig(), this.operator.publicKey);
  private readonly keyFile: string;
  /** Extra settings for every member started from now on (SNAPSHOT_EVERY, WINDOW_BYTES, PEER_URLS, …). */
  environment: Record<string, string> = {};

  constructor(
    root: string,
    ids: readonly string[],
    private readonly endpoints: () => readonly string[],
    readonly prefix: string,
    private readonly leaseTtlSeconds = 2,
  ) {
    this.members = ids.map((id) => ({ id, directory: join(root, id), url: undefined, process: undefined }));
    this.keyFile = join(root, 'operator-key.json');
  }

  /** An operator deposit, signed once; the same body is sent again after a failure. */
  depositBody(id: string): { message: string; body: string } {
    const params: Array<[string, string]> = [
      ['account', this.operator.publicKey],
      ['blockchain', 'Solana'],
      ['chainTransactionId', id],
      ['quantity', '1'],
      ['symbol', 'USDC'],
    ];
    const message = encodeSigningString([{ instruction: 'depositCredit', params }], Date.now(), 60_000);
    const signature = Buffer.from(signMessage(this.seed, new TextEncoder().encode(message))).toString('base64');
    return { message, body: JSON.stringify({ message, publicKey: this.operator.publicKey, signature }) };
  }

  async loggedMessages(endpoints: readonly string[]): Promise<LoggedMessages> {
    const store = await EtcdLogStore.open({ endpoints, prefix: this.prefix, genesisHash: genesisHash(this.genesis) });
    const messages = new Map<string, number>();
    const sequences: number[] = [];
    for await (const batch of store.read(1)) {
      for (const entry of batch) {
        sequences.push(entry.sequence);
        const text = new TextDecoder().decode(decodeEntry(entry.encoding).transaction.message);
        messages.set(text, (messages.get(text) ?? 0) + 1);
      }
    }
    return { messages, sequences, store };
  }

  async writeKey(): Promise<void> {
    const secret = Buffer.from(this.seed).toString('base64');
    await writeFile(this.keyFile, JSON.stringify({ secret, publicKey: this.operator.publicKey }));
  }

  /** Starts (or restarts, on its earlier port) a member; resolves once it listens. */
  async start(member: MemberProcess): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/cluster/src/member-main.ts'], {
      env: {
        ...process.env,
        MEMBER_ID: member.id,
        DATA_DIR: member.directory,
        PORT: member.url === undefined ? '0' : new URL(member.url).port,
        ETCD_ENDPOINTS: this.endpoints().join(','),
        LOG_PREFIX: this.prefix,
        OPERATOR_KEY_FILE: this.keyFile,
        LEASE_TTL_SECONDS: String(this.leaseTtlSeconds),
        LOG_LEVEL: process.env.MEMBER_LOG_LEVEL ?? 'warn',
        ...this.environment,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    member.process = child;
    member.url = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        const lines = chunk.toString('utf8');
        text += lines;
        // The member's errors (pino levels 50 and 60) go to the test's output, so a failed takeover can be read.
        for (const line of lines.split('\n'))
          if (/"level":(50|60)/.test(line)) process.stderr.write(`${member.id}: ${line}\n`);
        const match = /listening on (http:\/\/\S+)/.exec(text);
        if (match !== null) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`member ${member.id} exited (${code}) before listening`)));
    });
  }

  /** The member's /ready: its status and body (role, sequence, lagEntries), or status 0 when it does not answer. */
  async readiness(
    member: MemberProcess,
  ): Promise<{ status: number; role?: string; sequence?: number; lagEntries?: number }> {
    try {
      const response = await fetch(`${member.url}/ready`, { signal: AbortSignal.timeout(2_000) });
      const body = (await response.json()) as { role?: string; sequence?: number; lagEntries?: number };
      return { ...body, status: response.status };
    } catch {
      return { status: 0 };
    }
  }

  /** Whether the member is the serving sequencer (/ready 200 with role sequencer; a ready replica is not). */
  async isReady(member: MemberProcess): Promise<boolean> {
    const { status, role } = await this.readiness(member);
    return status === 200 && role === 'sequencer';
  }

  /** The member that serves as the sequencer, once there is one. */
  async waitForSequencer(except?: MemberProcess): Promise<MemberProcess> {
    for (;;) {
      for (const member of this.members) {
        if (member !== except && member.process !== undefined && (await this.isReady(member))) return member;
      }
      await sleep(50);
    }
  }

  /** Signals the member and resolves when its process has exited. */
  async stop(member: MemberProcess, signal: NodeJS.Signals): Promise<number | null> {
    const child = member.process;
    if (child === undefined) return null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    const code = await exited;
    member.process = undefined;
    return code;
  }

  killAll(): void {
    for (const member of this.members) member.process?.kill('SIGKILL');
  }
}
