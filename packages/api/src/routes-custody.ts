/**
 * GET /api/v1/custody: where the money is (docs/api.md, docs/custody.md).
 * The node's custody configuration as clients need it: the chain, the vault,
 * each asset's token, the committee, and the vault's delays. Without a
 * custody configuration the answer is 404 RESOURCE_NOT_FOUND, which clients
 * (packages/web) read as "reserves are the operator's statement".
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.js';
import { ApiError } from './errors.js';
import { errorResponses, noQuery } from './schemas.js';

const address = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } as const;

export const custodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['chainId', 'rpcUrl', 'vault', 'tokens', 'committee', 'finalityDelaySeconds', 'graceSeconds'],
  properties: {
    chainId: { type: 'integer', description: 'The EVM chain id' },
    rpcUrl: { type: 'string', description: 'A JSON-RPC endpoint of the chain that clients can reach' },
    vault: { ...address, description: 'The vault contract (packages/custody/contracts/Vault.sol)' },
    tokens: { type: 'object', additionalProperties: address, description: 'Asset symbol to its ERC-20 token address' },
    committee: { type: 'array', items: address, description: 'The committee members whose signatures a commit needs' },
    finalityDelaySeconds: { type: 'integer', description: 'Seconds from a root commit to its finality' },
    graceSeconds: { type: 'integer', description: 'Seconds a forced exit may stay unserved before anyone may freeze' },
  },
} as const;

export function registerCustodyRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get(
    '/api/v1/custody',
    {
      schema: {
        summary: 'The custody contract: chain, vault, token per asset, committee and delays',
        tags: ['native', 'verification'],
        querystring: noQuery,
        response: { 200: custodySchema, ...errorResponses(404) },
      },
    },
    async () => {
      if (context.custody === undefined) {
        const message = "No custody contract is configured; reserves are the operator's statement.";
        throw new ApiError('RESOURCE_NOT_FOUND', message);
      }
      return context.custody;
    },
  );
}
