/**
 * A read replica's API (docs/cluster.md, "Read replicas"): it serves every
 * query, stream and export, and refuses every write (POST, PUT, PATCH,
 * DELETE) before it is parsed, with 503 SERVICE_UNAVAILABLE, a message that
 * names the sequencer, and that sequencer's URL in the `x-vex-sequencer`
 * header when one is known. Writes are refused, not forwarded: the client
 * sends the same signed request to the sequencer (a forwarded write would add
 * a hop and a second place where an acknowledgement can be lost).
 */
import type { FastifyInstance } from 'fastify';
import type { ErrorBody } from './errors.js';

export interface WriteRefusal {
  readonly message: string;
  /** The sequencer's base URL, when the replica knows it. */
  readonly sequencerUrl?: string;
}

/** Where writes go instead, asked at each refused write. */
export type ReadOnlyMode = () => Promise<WriteRefusal>;

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export function refuseWrites(app: FastifyInstance, readOnly: ReadOnlyMode): void {
  app.addHook('onRequest', async (request, reply) => {
    if (readMethods.has(request.method)) return;
    const refusal = await readOnly();
    if (refusal.sequencerUrl !== undefined) reply.header('x-vex-sequencer', refusal.sequencerUrl);
    // Answered here rather than thrown: a redirection is not a server error worth an error log line.
    request.log.info({ sequencer: refusal.sequencerUrl }, 'read replica: write refused');
    return reply.status(503).send({ code: 'SERVICE_UNAVAILABLE', message: refusal.message } satisfies ErrorBody);
  });
}
