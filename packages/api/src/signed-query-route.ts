/**
 * One shape for the signed GET routes that answer from the node: authenticate
 * the request as a query naming its Backpack instruction, then answer for the
 * signer. The schema's summary ends with the instruction, as docs/api.md's
 * headings do.
 */
import type { FastifyInstance } from 'fastify';
import { signedNativeQuery, type ApiContext } from './context.js';
import { errorResponses, signedSecurity } from './schemas.js';

export interface SignedQueryRoute {
  readonly path: string;
  /** The instruction the request is signed with (Backpack's name). */
  readonly instruction: string;
  readonly summary: string;
  readonly tags?: readonly string[];
  readonly querystring: Record<string, unknown>;
  /** The schema of a 200 answer. */
  readonly answer: Record<string, unknown>;
}

export function registerSignedQuery<Query>(
  app: FastifyInstance,
  context: ApiContext,
  route: SignedQueryRoute,
  answer: (account: string, query: Query) => unknown,
): void {
  app.get(
    route.path,
    {
      schema: {
        summary: `${route.summary} (instruction ${route.instruction})`,
        tags: [...(route.tags ?? ['account', 'margin'])],
        security: signedSecurity,
        querystring: route.querystring,
        response: { 200: route.answer, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedNativeQuery(context, request, route.instruction);
      return answer(account, request.query as Query);
    },
  );
}
