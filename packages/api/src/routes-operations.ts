/**
 * Operations routes: GET /metrics (Prometheus text), GET /health (liveness)
 * and GET /ready (readiness); docs/operator.md, "Metrics and health".
 */
import type { FastifyInstance } from 'fastify';
import type { ClusterStatus, NodeMetrics } from './metrics.js';
import type { ExchangeNodePort } from './node-port.js';
import { noQuery } from './schemas.js';

const healthSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'halted', 'not-ready'] },
    message: { type: ['string', 'null'] },
    role: { type: 'string', enum: ['single', 'sequencer', 'standby', 'replica'] },
    sequence: { type: 'integer', description: 'Sequence of the last durable entry' },
    lagEntries: { type: 'integer' },
  },
} as const;

/** The route options of /health and /ready: one answer shape, 200 or 503. */
function probeOptions(summary: string) {
  return {
    schema: { summary, tags: ['operations'], querystring: noQuery, response: { 200: healthSchema, 503: healthSchema } },
  };
}

export interface OperationsContext {
  readonly node: Pick<ExchangeNodePort, 'haltedBy' | 'head'>;
  readonly metrics: NodeMetrics | undefined;
  readonly cluster: () => ClusterStatus;
}

export function registerOperationsRoutes(app: FastifyInstance, context: OperationsContext): void {
  const { node, metrics, cluster } = context;
  const answer = (status: 'ok' | 'halted' | 'not-ready', message: string | null) => {
    const { role, lagEntries } = cluster();
    return { status, message, role, sequence: node.head().sequence, lagEntries };
  };

  if (metrics !== undefined) {
    app.get(
      '/metrics',
      {
        schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['operations'], querystring: noQuery },
      },
      async (_request, reply) => {
        const { contentType, body } = await metrics.scrape();
        return reply.type(contentType).send(body);
      },
    );
  }

  // Liveness: the process answers and the node has not halted (a halted node must be restarted).
  app.get('/health', probeOptions('Liveness'), async (_request, reply) => {
    const halted = node.haltedBy;
    if (halted !== undefined) return reply.status(503).send(answer('halted', halted.message));
    return answer('ok', null);
  });

  // Readiness: live, and (in cluster mode) the leader or a caught-up replica.
  app.get('/ready', probeOptions('Readiness'), async (_request, reply) => {
    const halted = node.haltedBy;
    if (halted !== undefined) return reply.status(503).send(answer('halted', halted.message));
    const reason = cluster().notReadyReason;
    if (reason !== undefined) return reply.header('retry-after', '1').status(503).send(answer('not-ready', reason));
    return answer('ok', null);
  });
}
