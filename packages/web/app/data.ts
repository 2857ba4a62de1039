/**
 * What the page reads from the node it is served by: the genesis, the head,
 * the assets' decimals, the reserves against the latest attestation, the
 * recent attestations (for the charts) and, when the node has one, the custody
 * contract (GET /api/v1/custody). All through @vex/client's ExchangeClient.
 */
import {
  type ExchangeClient,
  ExchangeError,
  verifyAttestationSignature,
  type GenesisInfo,
  type NodeStatus,
  type Reserves,
  type ServedAttestation,
} from '@vex/client';

/** GET /api/v1/custody (docs/custody.md): where the money is. */
export interface CustodyInfo {
  readonly chainId: number;
  readonly rpcUrl: string;
  readonly vault: string;
  /** Asset symbol to its ERC-20 token address. */
  readonly tokens: Readonly<Record<string, string>>;
  readonly committee: readonly string[];
  readonly finalityDelaySeconds: number;
  readonly graceSeconds: number;
}

export interface Overview {
  readonly genesis: GenesisInfo;
  readonly status: NodeStatus;
  /** Asset symbol to its decimals (GET /api/v1/assets). */
  readonly decimals: ReadonlyMap<string, number>;
  /** Undefined before the first attestation. */
  readonly reserves: Reserves | undefined;
  readonly latest: ServedAttestation | undefined;
  /** Whether the latest attestation's signature verifies, in this browser, under a genesis operator key. */
  readonly latestSignatureValid: boolean | undefined;
  /** Undefined when the node has no custody contract configured (404). */
  readonly custody: CustodyInfo | undefined;
  /** Recent attestations, oldest first, for the charts. */
  readonly history: readonly ServedAttestation[];
}

/** The charts show at most this many of the most recent attestations. */
export const historyPoints = 300;
/** Pages of 1000 read for one window of entries at most. */
export const historyPages = 5;

function isNotFound(error: unknown): boolean {
  return error instanceof ExchangeError && error.status === 404;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the custody answer's shape; a malformed one is an error, never silently "no custody". */
export function parseCustody(value: unknown): CustodyInfo {
  const bad = (what: string): never => {
    throw new Error(`GET /api/v1/custody answered a malformed object: ${what}.`);
  };
  if (!isRecord(value)) return bad('not an object');
  const address = /^0x[0-9a-fA-F]{40}$/;
  if (typeof value.chainId !== 'number' || !Number.isSafeInteger(value.chainId)) bad('chainId');
  if (typeof value.rpcUrl !== 'string' || !/^https?:\/\//.test(value.rpcUrl)) bad('rpcUrl');
  if (typeof value.vault !== 'string' || !address.test(value.vault)) bad('vault');
  if (
    !isRecord(value.tokens) ||
    !Object.values(value.tokens).every((token) => typeof token === 'string' && address.test(token))
  )
    bad('tokens');
  if (!Array.isArray(value.committee) || !value.committee.every((member) => typeof member === 'string'))
    bad('committee');
  return value as unknown as CustodyInfo;
}

export async function fetchCustody(baseUrl: string): Promise<CustodyInfo | undefined> {
  const response = await fetch(`${baseUrl}/api/v1/custody`, { headers: { accept: 'application/json' } });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`GET /api/v1/custody answered ${response.status}.`);
  return parseCustody(await response.json());
}

/** The attestations from `from` up to `latest`, or undefined when more than historyPages pages would be needed. */
async function attestationsFrom(
  client: ExchangeClient,
  from: number,
  latest: number,
): Promise<ServedAttestation[] | undefined> {
  const found: ServedAttestation[] = [];
  for (let next = from, page = 0; next <= latest; page += 1) {
    if (page === historyPages) return undefined;
    const attestations = await client.fetchAttestations(next, 1000);
    if (attestations.length === 0) break;
    found.push(...attestations);
    next = attestations[attestations.length - 1]!.sequence + 1;
  }
  return found;
}

/**
 * The most recent attestations, oldest first. Each attestation is followed by
 * its record entry, so a window of W entries holds at most W / 2 of them: the
 * windows grow tenfold from 2 × historyPoints entries until one holds
 * historyPoints attestations or starts at the log's start; a window too large
 * to read keeps the previous one's.
 */
async function fetchHistory(
  client: ExchangeClient,
  latest: ServedAttestation | undefined,
): Promise<ServedAttestation[]> {
  if (latest === undefined) return [];
  let history: ServedAttestation[] = [latest];
  for (let window = 2 * historyPoints; ; window *= 10) {
    const from = Math.max(1, latest.sequence - window + 1);
    const found = await attestationsFrom(client, from, latest.sequence);
    if (found === undefined) break;
    history = found;
    if (found.length >= historyPoints || from === 1) break;
  }
  return history.slice(-historyPoints);
}

export async function fetchOverview(client: ExchangeClient): Promise<Overview> {
  const [genesis, status, assets, latest, custody] = await Promise.all([
    client.fetchGenesis(),
    client.status(),
    client.assets(),
    client.fetchAttestation(),
    fetchCustody(client.baseUrl),
  ]);
  const reserves = await client.fetchReserves().catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  const decimals = new Map(assets.map((asset) => [asset.symbol, (asset as unknown as { decimals: number }).decimals]));
  const latestSignatureValid =
    latest === undefined ? undefined : verifyAttestationSignature(latest, genesis.operatorKeys);
  const history = await fetchHistory(client, latest);
  return { genesis, status, decimals, reserves, latest, latestSignatureValid, custody, history };
}
