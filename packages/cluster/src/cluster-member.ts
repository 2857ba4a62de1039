/**
 * A cluster member (docs/cluster.md, "Members, standby and takeover"): one
 * process with its own LevelDB ledger and HTTP port. It starts as a standby:
 * it follows the etcd log into its ledger (checked entries, synced), reports
 * its progress (so the window keeps what it lacks), answers every API request
 * 503 with Retry-After, and campaigns. When it wins, it stops following,
 * catches its ledger up to the exact head the election returned, opens the
 * exchange node on it (recovery verifies and re-applies what it followed)
 * with the etcd log in front, and serves the API on the same listening
 * socket. If the node halts (deposed, or an append whose outcome is unknown)
 * the member exits: a supervisor restarts it, as a standby.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { genesisHash, type Genesis } from '@vex/engine';
import { applyListings, buildServer, type ClusterStatus, type ExchangeConfig, type OperatorKey } from '@vex/api';
import { ExchangeNode, createDatabase, type LogPosition } from '@vex/ledger';
import type { Logger } from 'pino';
import { catchUp, initialiseLedger, localHead, writeEntries } from './catch-up.js';
import type { EtcdLogAppender } from './etcd-appender.js';
import { EtcdLogStore } from './etcd-log-store.js';
import { ReplicatedLogWriter } from './replicated-log-writer.js';

export interface ClusterMemberOptions {
  readonly memberId: string;
  readonly dataDirectory: string;
  readonly host: string;
  readonly port: number;
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly config: ExchangeConfig;
  readonly genesis: Genesis;
  readonly operator: OperatorKey;
  readonly leaseTtlSeconds: number;
  readonly logger: Logger;
}

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** The standby's answer to everything but its health: 503, try again in a second (the failover gap). */
function standbyAnswer(memberId: string, sequence: () => number): RequestHandler {
  return (request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    const status = path === '/health' ? 200 : 503;
    const body =
      path === '/health' || path === '/ready'
        ? {
            status: path === '/health' ? 'ok' : 'not-ready',
            message: 'standby',
            role: 'standby',
            sequence: sequence(),
            lagEntries: 0,
          }
        : {
            code: 'SERVICE_UNAVAILABLE',
            message: `Member ${memberId} is a standby: no sequencer here now; retry shortly.`,
          };
    response.writeHead(status, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' });
    response.end(JSON.stringify(body));
  };
}

export class ClusterMember {
  private handler: RequestHandler;
  private readonly server: Server;
  private store: EtcdLogStore | undefined;
  private node: ExchangeNode | undefined;
  private appender: EtcdLogAppender | undefined;
  private api: ReturnType<typeof buildServer> | undefined;
  private followed: LogPosition | undefined;
  private readonly stopping = new AbortController();
  role: ClusterStatus['role'] = 'standby';

  constructor(private readonly options: ClusterMemberOptions) {
    this.handler = standbyAnswer(options.memberId, () => this.followed?.sequence ?? 0);
    this.server = createServer((request, response) => this.handler(request, response));
  }

  /** Listens, then runs as a standby until it wins the election and serves as the sequencer; resolves with the port. */
  async start(): Promise<number> {
    const { options } = this;
    await new Promise<void>((resolve) => this.server.listen(options.port, options.host, resolve));
    const address = this.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('no address');
    this.store = await EtcdLogStore.open({
      endpoints: options.endpoints,
      prefix: options.prefix,
      genesisHash: genesisHash(options.genesis),
    });
    void this.run().catch((error: unknown) => {
      options.logger.fatal({ err: error }, 'cluster member failed');
      process.exitCode = 1;
      void this.stop();
    });
    return address.port;
  }

  private async run(): Promise<void> {
    const store = this.store!;
    const following = new AbortController();
    const followed = this.follow(store, following.signal);
    const appender = await store.campaign({
      sequencerId: this.options.memberId,
      leaseTtlSeconds: this.options.leaseTtlSeconds,
      pollIntervalMs: 100,
      signal: this.stopping.signal,
    });
    following.abort();
    await followed;
    if (this.stopping.signal.aborted) {
      await appender.close();
      return;
    }
    this.appender = appender;
    await this.takeOver(store, appender);
  }

  /** The standby's loop: the etcd log into the member's own ledger, progress reported, until aborted. */
  private async follow(store: EtcdLogStore, signal: AbortSignal): Promise<void> {
    const db = createDatabase(join(this.options.dataDirectory, 'ledger'));
    await db.open();
    try {
      await initialiseLedger(db, this.options.genesis);
      let position = await localHead(db, genesisHash(this.options.genesis));
      this.followed = position;
      for await (const batch of store.follow(position, { signal })) {
        if (signal.aborted) break;
        position = await writeEntries(db, batch);
        this.followed = position;
        await store.reportProgress(this.options.memberId, position.sequence).catch(() => undefined);
      }
    } catch (error) {
      if (!signal.aborted)
        this.options.logger.error({ err: error }, 'standby: following the etcd log failed; it catches up at takeover');
    } finally {
      await db.close();
    }
  }

  /** Won the election: the ledger to the exact head, the node with the etcd log in front, the API on the socket. */
  private async takeOver(store: EtcdLogStore, appender: EtcdLogAppender): Promise<void> {
    const { options } = this;
    const target = appender.durableHead();
    const db = createDatabase(join(options.dataDirectory, 'ledger'));
    await db.open();
    try {
      await initialiseLedger(db, options.genesis);
      await catchUp(db, store, await localHead(db, genesisHash(options.genesis)), target.sequence);
    } finally {
      await db.close();
    }
    const node = await ExchangeNode.open({
      dataDirectory: options.dataDirectory,
      genesis: options.genesis,
      logger: options.logger,
      attestationSigningSeed: options.operator.seed,
      logWriter: (local) => new ReplicatedLogWriter(appender, local),
    });
    this.node = node;
    options.logger.info({ head: node.head(), etcdHead: target.sequence }, 'cluster member: took over as the sequencer');
    await applyListings(node, options.operator, options.config);
    this.role = 'sequencer';
    const status = (): ClusterStatus => {
      const deposed = appender.stopped();
      const statistics = appender.statistics;
      return {
        role: this.role,
        leader: deposed === undefined,
        lagEntries: 0,
        etcdErrors: statistics.outcomeUnknown + statistics.compactionErrors,
        notReadyReason: deposed === undefined ? undefined : `no longer the sequencer: ${deposed.message}`,
      };
    };
    let apiHandler: RequestHandler | undefined;
    const api = buildServer({
      node,
      logger: options.logger,
      rateLimits: false,
      clusterStatus: status,
      serverFactory: (handler) => {
        apiHandler = handler as RequestHandler;
        return this.server;
      },
    });
    await api.ready();
    this.api = api;
    // From here the API answers on the socket the standby listened on: no gap in which connections are refused.
    this.handler = apiHandler!;
    this.watchHalt(node, appender);
  }

  /** A halted sequencer (deposed, outcome unknown) acknowledges nothing more: the member exits, to return a standby. */
  private watchHalt(node: ExchangeNode, appender: EtcdLogAppender): void {
    const timer = setInterval(() => {
      const reason = node.haltedBy ?? appender.stopped();
      if (reason === undefined) return;
      clearInterval(timer);
      this.options.logger.fatal(
        { err: reason },
        'cluster member: no longer the sequencer (halted or deposed); exiting',
      );
      process.exitCode = 1;
      void this.stop();
    }, 100);
    timer.unref();
  }

  /** Stops serving, closes the node (syncing what it acknowledged) and gives up the lease: a standby takes over now. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.api?.close().catch(() => undefined);
    this.server.close();
    this.server.closeAllConnections();
    await this.node?.close().catch(() => undefined);
    await this.appender?.close().catch(() => undefined);
    this.store?.close();
  }
}
