/**
 * A cluster member (docs/cluster.md, "Members, read replicas and takeover"):
 * one process with its own LevelDB ledger and HTTP port. It starts as a read
 * replica (read-replica.ts): it follows the etcd log and applies every entry
 * through the engine into its ledger, serves the read routes, streams, proofs
 * and exports, refuses writes naming the sequencer, and campaigns. When it
 * wins, it stops following, applies the log up to the exact head the election
 * returned, closes the replica, opens the exchange node on the ledger with the
 * etcd log in front, and serves the API on the same listening socket. If the
 * node halts (deposed, or an append whose outcome is unknown) the member
 * exits: a supervisor restarts it, as a read replica.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { genesisHash, type Genesis } from '@vex/engine';
import {
  applyListings,
  buildServer,
  type BuildServerOptions,
  type ClusterStatus,
  type ExchangeConfig,
  type OperatorKey,
} from '@vex/api';
import { ExchangeNode } from '@vex/ledger';
import type { Logger } from 'pino';
import type { EtcdLogAppender } from './etcd-appender.js';
import { EtcdLogStore } from './etcd-log-store.js';
import { ReadReplica } from './read-replica.js';
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
  /** The URL other members name when they refuse a write (default http://<host>:<bound port>). */
  readonly advertisedUrl?: string;
  /** /ready answers 503 while the read replica is more entries than this behind the log. Default 1,000. */
  readonly readyLagEntries?: number;
  /** Entries between snapshots, as a replica and as the sequencer (the node's default when unset). */
  readonly snapshotEveryEntries?: number;
  /** The etcd window's byte bound while this member is the sequencer (default 256 MiB; docs/cluster.md). */
  readonly windowBytes?: number;
  /**
   * Other members' base URLs, asked after the sequencer's (from the leader key) when this member joins with an
   * empty ledger (from a snapshot) or has fallen behind the etcd window (from an export).
   */
  readonly peerUrls?: readonly string[];
}

/** The etcd window's default byte bound (docs/cluster.md, "The rolling window"). */
export const defaultWindowBytes = 256 * 1024 * 1024;

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** The answer while no API is attached (starting, or between replica and sequencer): 503, retry in a second. */
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
            message: `Member ${memberId} is starting or taking over as the sequencer; retry shortly.`,
          };
    response.writeHead(status, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' });
    response.end(JSON.stringify(body));
  };
}

type Listener = (...args: never[]) => unknown;

/** The listeners an API added to the shared server, to remove when another API takes the socket. */
function listenersOf(server: Server): Map<string | symbol, Set<Listener>> {
  const listeners = new Map<string | symbol, Set<Listener>>();
  for (const event of server.eventNames()) listeners.set(event, new Set(server.listeners(event) as Listener[]));
  return listeners;
}

export class ClusterMember {
  private handler: RequestHandler;
  private readonly server: Server;
  private store: EtcdLogStore | undefined;
  private replica: ReadReplica | undefined;
  private node: ExchangeNode | undefined;
  private appender: EtcdLogAppender | undefined;
  private detachApi: (() => Promise<void>) | undefined;
  private url = '';
  private readonly stopping = new AbortController();
  role: ClusterStatus['role'] = 'standby';

  constructor(private readonly options: ClusterMemberOptions) {
    this.handler = standbyAnswer(options.memberId, () => this.replica?.node.head().sequence ?? 0);
    this.server = createServer((request, response) => this.handler(request, response));
  }

  /** Listens, serves as a read replica until it wins the election, then as the sequencer; resolves with the port. */
  async start(): Promise<number> {
    const { options } = this;
    await new Promise<void>((resolve) => this.server.listen(options.port, options.host, resolve));
    const address = this.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('no address');
    this.url = options.advertisedUrl ?? `http://${options.host}:${address.port}`;
    this.store = await EtcdLogStore.open({
      endpoints: options.endpoints,
      prefix: options.prefix,
      genesisHash: genesisHash(options.genesis),
    });
    void this.run().catch((error: unknown) => this.fail(error, 'cluster member failed'));
    return address.port;
  }

  private fail(error: unknown, message: string): void {
    this.options.logger.fatal({ err: error }, message);
    process.exitCode = 1;
    void this.stop();
  }

  private async run(): Promise<void> {
    const { options } = this;
    const store = this.store!;
    const replica = await ReadReplica.open({
      memberId: options.memberId,
      dataDirectory: options.dataDirectory,
      genesis: options.genesis,
      attestationSigningSeed: options.operator.seed,
      store,
      logger: options.logger,
      peers: () => this.peers(),
      ...(options.readyLagEntries === undefined ? {} : { readyLagEntries: options.readyLagEntries }),
      ...(options.snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries: options.snapshotEveryEntries }),
    });
    this.replica = replica;
    if (this.stopping.signal.aborted) return;
    this.role = 'replica';
    await this.attachApi({
      node: replica.node,
      clusterStatus: () => replica.status(),
      readOnly: () => replica.writeRefusal(),
    });
    this.watchHalt(() => replica.node.haltedBy);
    const appender = await store.campaign({
      sequencerId: options.memberId,
      url: this.url,
      leaseTtlSeconds: options.leaseTtlSeconds,
      pollIntervalMs: 100,
      signal: this.stopping.signal,
      window: { maximumBytes: options.windowBytes ?? defaultWindowBytes },
    });
    if (this.stopping.signal.aborted) {
      await appender.close();
      return;
    }
    this.appender = appender;
    // The exact head the election read: the replica applies the log up to it, then gives the ledger to the node.
    await replica.catchUpTo(appender.durableHead().sequence);
    this.role = 'standby';
    await this.detachApi?.();
    await replica.close();
    this.replica = undefined;
    await this.takeOver(appender);
  }

  /** Where to fetch a snapshot or an export: the sequencer (its URL is in the leader key), then the peers given. */
  private async peers(): Promise<string[]> {
    const leader = await this.store?.currentLeader().catch(() => undefined);
    const urls = [...(leader?.url === undefined ? [] : [leader.url]), ...(this.options.peerUrls ?? [])];
    return [...new Set(urls)].filter((url) => url !== this.url);
  }

  /**
   * Builds an API on the member's listening server (fastify's serverFactory) and routes requests to it; the
   * listeners it adds to the server (WebSocket upgrades, connection bounds) are removed again when it is detached.
   */
  private async attachApi(parts: Pick<BuildServerOptions, 'node' | 'clusterStatus' | 'readOnly'>): Promise<void> {
    const before = listenersOf(this.server);
    let apiHandler: RequestHandler | undefined;
    const api = buildServer({
      ...parts,
      logger: this.options.logger,
      rateLimits: false,
      serverFactory: (handler) => {
        apiHandler = handler as RequestHandler;
        return this.server;
      },
    });
    await api.ready();
    const added: Array<[string | symbol, Listener]> = [];
    for (const event of this.server.eventNames())
      for (const listener of this.server.listeners(event) as Listener[])
        if (before.get(event)?.has(listener) !== true) added.push([event, listener]);
    // From here this API answers on the socket: no gap in which connections are refused.
    this.handler = apiHandler!;
    this.detachApi = async () => {
      this.detachApi = undefined;
      this.handler = standbyAnswer(this.options.memberId, () => this.node?.head().sequence ?? 0);
      for (const [event, listener] of added)
        this.server.removeListener(event, listener as (...args: unknown[]) => void);
      await api.close().catch(() => undefined);
    };
  }

  /** Won the election: the node on the replica's ledger with the etcd log in front, the API on the socket. */
  private async takeOver(appender: EtcdLogAppender): Promise<void> {
    const { options } = this;
    const target = appender.durableHead();
    const node = await ExchangeNode.open({
      dataDirectory: options.dataDirectory,
      genesis: options.genesis,
      logger: options.logger,
      attestationSigningSeed: options.operator.seed,
      logWriter: (local) => new ReplicatedLogWriter(appender, local),
      ...(options.snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries: options.snapshotEveryEntries }),
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
    await this.attachApi({ node, clusterStatus: status });
    this.watchHalt(() => node.haltedBy ?? appender.stopped());
  }

  /**
   * A halted node (a sequencer deposed or unsure of an append; a replica fed an entry it cannot apply) serves
   * nothing more: the member exits, and its supervisor starts it again (recovery checks the ledger).
   */
  private watchHalt(reasonOf: () => Error | undefined): void {
    const timer = setInterval(() => {
      const reason = reasonOf();
      if (reason === undefined) return;
      clearInterval(timer);
      this.fail(reason, `cluster member: the ${this.role} halted; exiting`);
    }, 100);
    timer.unref();
    this.stopping.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }

  /** Stops serving, closes the node (syncing what it acknowledged) and gives up the lease: a replica takes over now. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.detachApi?.();
    this.server.close();
    this.server.closeAllConnections();
    await this.replica?.close().catch(() => undefined);
    await this.node?.close().catch(() => undefined);
    await this.appender?.close().catch(() => undefined);
    this.store?.close();
  }
}
