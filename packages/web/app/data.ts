/**
 * What the page reads from the node it is served by: the genesis, the head,
 * the assets' decimals, the reserves against the latest attestation, the
 * recent attestations (for the charts) and, when the node has one, the custody
 * contract (GET /api/v1/custody). All through @vex/client's ExchangeClient.
 */
import {
  ExchangeClient,
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

/** The charts cover the attestations of at most this many recent entries… */
export const historySpanEntries = 1_000_000;
/** …read in at most this many pages of 1000… */
export const historyPages = 5;
/** …and keep at most this many points. */
export const historyPoints = 300;

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

async function fetchHistory(
  client: ExchangeClient,
  latest: ServedAttestation | undefined,
): Promise<ServedAttestation[]> {
  if (latest === undefined) return [];
  const history: ServedAttestation[] = [];
  let from = Math.max(1, latest.sequence - historySpanEntries);
  for (let page = 0; page < historyPages && from <= latest.sequence; page += 1) {
    const attestations = await client.fetchAttestations(from, 1000);
    if (attestations.length === 0) break;
    history.push(...attestations);
    from = attestations[attestations.length - 1]!.sequence + 1;
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
  const decimals = new Map(
    assets.map((asset) => [asset.symbol, (asset as unknown as { decimals: number }).decimals]),
  );
  const latestSignatureValid =
    latest === undefined ? undefined : verifyAttestationSignature(latest, genesis.operatorKeys);
  const history = await fetchHistory(client, latest);
  return { genesis, status, decimals, reserves, latest, latestSignatureValid, custody, history };
}
