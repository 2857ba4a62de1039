/**
 * What a verifier needs, beyond the log export: the genesis, the operator's
 * signed attestations (one, a page, or all as JSON Lines), the reserves
 * against the attested liabilities, a trader's inclusion proof, and the
 * latest snapshot record. Formats: docs/attestation.md and docs/log-format.md.
 *
 * Every attestation served carries the derived, unsigned `short` list (the
 * assets whose claims − debts exceed the stated reserves), so a flagged
 * attestation is never served without its flag.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import {
  bytesToLowerHex,
  formatDecimal,
  genesisHash,
  reservesAttestation,
  shortAssets,
  type AttestationOfAnyVersion,
  type InclusionProof,
} from '@vex/engine';
import { parseInteger, signedNativeQuery, type ApiContext } from './context.js';
import { ApiError } from './errors.js';
import { borrowLendHole, borrowLendHoleProperties } from './margin-reserves.js';
import { holdExportSlot } from './export-slots.js';
import { digitsString, errorResponses, noQuery, signedSecurity } from './schemas.js';

/** Attestations per page of GET /api/v1/attestations?from=: default and most. */
export const defaultAttestationPageSize = 100;
export const maximumAttestationPageSize = 1000;

const hashString = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const unitsString = {
  type: 'string',
  description: 'Integer units of the asset’s smallest unit, as a decimal string',
} as const;

export const attestationSchema = {
  type: 'object',
  required: [
    'version',
    'sequence',
    'logTimeMs',
    'genesisHash',
    'headHash',
    'stateHash',
    'liabilitiesRoot',
    'accountCount',
    'assets',
    'operatorKey',
    'signature',
    'short',
  ],
  properties: {
    version: { type: 'integer', enum: [1, 2], description: '1 only for attestations made before an upgrade' },
    sequence: { type: 'integer', description: 'The entry the attestation follows' },
    logTimeMs: { type: 'integer' },
    genesisHash: hashString,
    headHash: hashString,
    stateHash: hashString,
    liabilitiesRoot: hashString,
    accountCount: { type: 'integer' },
    assets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['symbol', 'claims', 'debts', 'reserves'],
        properties: {
          symbol: { type: 'string' },
          claims: unitsString,
          debts: unitsString,
          reserves: unitsString,
          stressShortfall: {
            type: 'string',
            description:
              'In settlement-asset units (USDC): the stress figure attributed to this asset (absent in version 1)',
          },
        },
      },
    },
    operatorKey: { type: 'string', description: 'base64 of the signing genesis operator key' },
    signature: {
      type: 'string',
      description: 'base64 Ed25519 signature of the attestation message (docs/attestation.md)',
    },
    short: {
      type: 'array',
      items: { type: 'string' },
      description: 'Derived, not signed: assets whose claims − debts exceed the reserves',
    },
  },
} as const;

const amountsSchema = {
  type: 'object',
  required: ['claim', 'debt'],
  properties: { claim: unitsString, debt: unitsString },
} as const;

export const inclusionProofSchema = {
  type: 'object',
  required: ['version', 'attestation', 'account', 'salt', 'leafIndex', 'balances', 'path'],
  properties: {
    version: { type: 'integer', enum: [1] },
    attestation: attestationSchema,
    account: { type: 'string', description: 'base64 public key of the account' },
    salt: hashString,
    leafIndex: { type: 'integer' },
    balances: {
      type: 'array',
      items: {
        ...amountsSchema,
        required: ['symbol', 'claim', 'debt'],
        properties: { symbol: { type: 'string' }, ...amountsSchema.properties },
      },
    },
    path: {
      type: 'array',
      items: {
        type: 'object',
        required: ['hash', 'sums'],
        properties: { hash: hashString, sums: { type: 'array', items: amountsSchema } },
      },
    },
  },
} as const;

const reservesSchema = {
  type: 'object',
  required: ['sequence', 'logTimeMs', 'assets', 'short'],
  properties: {
    sequence: { type: 'integer', description: 'The latest attestation, whose signed figures these are' },
    logTimeMs: { type: 'integer' },
    assets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['symbol', 'reserves', 'liabilities', 'claims', 'debts', 'difference', 'short'],
        properties: {
          symbol: { type: 'string' },
          reserves: { type: 'string', description: 'Stated reserves, a decimal in the asset’s units' },
          reservesAttestedBy: {
            type: 'string',
            enum: ['operator', 'custodian'],
            description: 'Who stated the reserves: the operator, or a deposit token’s custodian (fiat at a bank)',
          },
          custodianKey: { type: 'string', description: 'The custodian’s key in the genesis (deposit tokens only)' },
          liabilities: { type: 'string', description: 'claims − debts' },
          claims: { type: 'string' },
          debts: { type: 'string' },
          difference: { type: 'string', description: 'reserves − liabilities; negative when short' },
          short: { type: 'boolean' },
          ...borrowLendHoleProperties,
        },
      },
    },
    short: { type: 'array', items: { type: 'string' } },
  },
} as const;

/** An attestation as served: the signed object and its derived `short` list. */
export function servedAttestation<Served extends AttestationOfAnyVersion>(
  attestation: Served,
): Served & { readonly short: string[] } {
  return { ...attestation, short: shortAssets(attestation) };
}

function servedProof(proof: InclusionProof): InclusionProof {
  return { ...proof, attestation: servedAttestation(proof.attestation) };
}

function streamFrom(
  request: { log: { warn: (object: object, message: string) => void } },
  what: string,
  write: (stream: PassThrough) => Promise<unknown>,
): PassThrough {
  const stream = new PassThrough();
  write(stream).then(
    () => {
      if (!stream.writableEnded) stream.end();
    },
    (error: unknown) => {
      request.log.warn({ err: error }, `${what} failed`);
      stream.destroy(error as Error);
    },
  );
  return stream;
}

const exportQuery = { type: 'object', additionalProperties: false, properties: { from: digitsString } } as const;

function checkExportFrom(query: { from?: string }): number {
  const from = parseInteger(query.from, 'from') ?? 1;
  if (from < 1) throw new ApiError('INVALID_CLIENT_REQUEST', 'from must be at least 1.');
  return from;
}

export function registerVerificationRoutes(app: FastifyInstance, context: ApiContext): void {
  registerGenesisRoute(app, context);
  registerAttestationRoutes(app, context);
  registerReserveRoutes(app, context);
  registerProofRoutes(app, context);
}

/** The genesis and its hash. */
function registerGenesisRoute(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/api/v1/genesis',
    {
      schema: {
        summary: 'The genesis (its operator keys are the keys attestations must be signed by) and its hash',
        tags: ['native', 'verification'],
        querystring: noQuery,
        response: {
          200: {
            type: 'object',
            required: ['exchangeName', 'feeAccount', 'operatorKeys', 'genesisHash'],
            properties: {
              exchangeName: { type: 'string' },
              feeAccount: { type: 'string' },
              operatorKeys: { type: 'array', items: { type: 'string' } },
              custodians: {
                type: 'object',
                additionalProperties: { type: 'string' },
                description: 'Deposit tokens: asset symbol → custodian key (present only when the genesis names any)',
              },
              genesisHash: hashString,
            },
          },
        },
      },
    },
    async () => {
      const genesis = node.state.genesis;
      return {
        exchangeName: genesis.exchangeName,
        feeAccount: genesis.feeAccount,
        operatorKeys: [...genesis.operatorKeys],
        ...(genesis.custodians === undefined ? {} : { custodians: { ...genesis.custodians } }),
        genesisHash: bytesToLowerHex(genesisHash(genesis)),
      };
    },
  );
}

const attestationsRouteSchema = {
  summary: 'Attestations, in sequence order: the latest (no query), the one at `sequence`, or a page from `from`',
  tags: ['native', 'verification'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { sequence: digitsString, from: digitsString, limit: digitsString },
  },
  response: { 200: { type: 'array', items: attestationSchema }, ...errorResponses() },
} as const;

/** GET /api/v1/attestations: the latest (no query), the one at `sequence`, or a page from `from`. */
async function queryAttestations(
  node: ApiContext['node'],
  query: { sequence?: string; from?: string; limit?: string },
): Promise<ReturnType<typeof servedAttestation>[]> {
  const sequence = parseInteger(query.sequence, 'sequence');
  const from = parseInteger(query.from, 'from');
  const limit = parseInteger(query.limit, 'limit');
  if (sequence !== undefined && (from !== undefined || limit !== undefined)) {
    throw new ApiError('INVALID_CLIENT_REQUEST', 'Give either sequence, or from (and limit), not both.');
  }
  if (limit !== undefined && from === undefined)
    throw new ApiError('INVALID_CLIENT_REQUEST', 'limit pages from `from`; give from as well.');
  if (sequence !== undefined) {
    if (sequence < 1) throw new ApiError('INVALID_CLIENT_REQUEST', 'sequence must be at least 1.');
    const attestation = await node.attestationAt(sequence);
    return attestation === undefined ? [] : [servedAttestation(attestation)];
  }
  if (from !== undefined) {
    if (from < 1) throw new ApiError('INVALID_CLIENT_REQUEST', 'from must be at least 1.');
    const size = limit ?? defaultAttestationPageSize;
    if (size < 1 || size > maximumAttestationPageSize)
      throw new ApiError('INVALID_CLIENT_REQUEST', `limit must be from 1 to ${maximumAttestationPageSize}.`);
    return (await node.readAttestations(from, size)).map(servedAttestation);
  }
  const latest = node.latestAttestation();
  return latest === undefined ? [] : [servedAttestation(latest)];
}

/** Attestations: the latest, one, a page, or the whole export. */
function registerAttestationRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/api/v1/attestations',
    {
      schema: attestationsRouteSchema,
    },
    async (request) => queryAttestations(node, request.query as { sequence?: string; from?: string; limit?: string }),
  );

  // HEAD answers the headers alone: fastify's automatic HEAD would run the export and drain it.
  app.head(
    '/api/v1/attestations/export',
    {
      schema: {
        summary: 'The headers of GET /api/v1/attestations/export, without reading the attestations',
        tags: ['native', 'verification'],
        querystring: exportQuery,
      },
    },
    async (request, reply) => {
      checkExportFrom(request.query as { from?: string });
      return reply.type('application/x-ndjson; charset=utf-8').send();
    },
  );
  app.get(
    '/api/v1/attestations/export',
    {
      exposeHeadRoute: false,
      schema: {
        summary:
          'Every attestation from sequence `from` (default 1) to the latest, as JSON Lines of the stored canonical JSON',
        tags: ['native', 'verification'],
        querystring: exportQuery,
        produces: ['application/x-ndjson'],
      },
    },
    async (request, reply) => {
      const from = checkExportFrom(request.query as { from?: string });
      if (!holdExportSlot(context.exports, request, reply)) return reply;
      const stream = streamFrom(request, 'attestation export', (destination) =>
        node.exportAttestations(destination, from),
      );
      return reply.type('application/x-ndjson; charset=utf-8').send(stream);
    },
  );
}

/** Reserve statements. */
function registerReserveRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/api/v1/reserves',
    {
      schema: {
        summary: 'Per asset: the stated reserves against the liabilities (claims − debts) of the latest attestation',
        tags: ['native', 'verification'],
        querystring: noQuery,
        response: { 200: reservesSchema, ...errorResponses(404) },
      },
    },
    async () => {
      const latest = node.latestAttestation();
      if (latest === undefined)
        throw new ApiError(
          'RESOURCE_NOT_FOUND',
          'There is no attestation yet, so no attested liabilities to set the reserves against.',
        );
      const short = shortAssets(latest);
      return {
        sequence: latest.sequence,
        logTimeMs: latest.logTimeMs,
        assets: latest.assets.map((asset) => {
          // Assets are never delisted, so every attested asset is listed.
          const decimals = node.state.assetsBySymbol.get(asset.symbol)!.decimals;
          const claims = BigInt(asset.claims);
          const debts = BigInt(asset.debts);
          const reserves = BigInt(asset.reserves);
          const liabilities = claims - debts;
          return {
            symbol: asset.symbol,
            reserves: formatDecimal(reserves, decimals),
            ...reservesAttestation(node.state, asset.symbol),
            liabilities: formatDecimal(liabilities, decimals),
            claims: formatDecimal(claims, decimals),
            debts: formatDecimal(debts, decimals),
            difference: formatDecimal(reserves - liabilities, decimals),
            short: short.includes(asset.symbol),
            ...borrowLendHole(node.state, asset.symbol),
          };
        }),
        short,
      };
    },
  );
}

const proofRouteSchema = {
  summary:
    "The signer's inclusion proof under the latest attestation, or a recent older one at `sequence` (instruction proofQuery)",
  tags: ['account', 'verification'],
  security: signedSecurity,
  querystring: { type: 'object', additionalProperties: false, properties: { sequence: digitsString } },
  response: { 200: inclusionProofSchema, ...errorResponses(401, 404, 503) },
} as const;

/** Inclusion proofs and the state snapshot they stand on. */
function registerProofRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  app.get(
    '/wapi/v1/proof',
    {
      schema: proofRouteSchema,
    },
    async (request) => {
      const { account } = signedNativeQuery(context, request, 'proofQuery');
      const sequence = parseInteger((request.query as { sequence?: string }).sequence, 'sequence');
      let answer;
      try {
        answer = await node.proof(account, sequence);
      } catch (error) {
        // The node halted while the attestation's batch was being written: it may never become durable.
        if (error instanceof Error && error.name === 'LedgerHaltedError')
          throw new ApiError('SERVICE_UNAVAILABLE', error.message);
        throw error;
      }
      if (!answer.found) throw new ApiError('RESOURCE_NOT_FOUND', answer.message);
      return servedProof(answer.proof);
    },
  );

  // HEAD answers the headers alone (the record is megabytes, read from LevelDB).
  app.head(
    '/api/v1/snapshot',
    {
      schema: {
        summary: 'The headers of GET /api/v1/snapshot, without reading the snapshot',
        tags: ['native', 'verification'],
        querystring: noQuery,
      },
    },
    async (_request, reply) => reply.type('application/octet-stream').send(),
  );
  app.get(
    '/api/v1/snapshot',
    {
      exposeHeadRoute: false,
      schema: {
        summary: 'The latest snapshot record, byte for byte (docs/log-format.md), for the replayer’s --from-snapshot',
        tags: ['native', 'verification'],
        querystring: noQuery,
        produces: ['application/octet-stream'],
      },
    },
    async (request, reply) => {
      if (!holdExportSlot(context.exports, request, reply)) return reply;
      const snapshot = await node.readLatestSnapshot();
      if (snapshot === undefined) throw new ApiError('RESOURCE_NOT_FOUND', 'There is no snapshot yet.');
      return reply
        .type('application/octet-stream')
        .header('x-snapshot-sequence', String(snapshot.sequence))
        .send(Buffer.from(snapshot.record.buffer, snapshot.record.byteOffset, snapshot.record.byteLength));
    },
  );
}
