/**
 * A bound on exports in progress (the log, the attestations, the snapshot).
 *
 * An export reads the whole log or a large record from LevelDB and keeps a
 * reader open for as long as its client takes; unbounded, a few clients could
 * keep the node's disk and CPU busy with exports. Beyond the bound, in total
 * or from one address, an export is refused at once with 503 and
 * Retry-After. A slot is freed when the response finishes or its client goes
 * away (the export then stops at its next write).
 */
export interface ExportLimits {
  /** Exports in progress at once, in total. */
  readonly maximumConcurrentExports: number;
  /** Exports in progress at once from one client IP. */
  readonly maximumConcurrentExportsPerIp: number;
}

export const defaultExportLimits: ExportLimits = {
  maximumConcurrentExports: 4,
  maximumConcurrentExportsPerIp: 2,
};

/** Seconds a refused export is told to wait. */
export const exportRetryAfterSeconds = 5;

export class ExportSlots {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly limits: ExportLimits) {}

  get inProgress(): number {
    return this.total;
  }

  /** A release function (idempotent), or undefined when the bound is reached. */
  acquire(ip: string): (() => void) | undefined {
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.total >= this.limits.maximumConcurrentExports || fromIp >= this.limits.maximumConcurrentExportsPerIp)
      return undefined;
    this.total += 1;
    this.perIp.set(ip, fromIp + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    };
  }
}

/**
 * Takes an export slot for the life of `reply`'s response, freed when the
 * response finishes or its connection closes. When none is free, answers 503
 * SERVICE_UNAVAILABLE with Retry-After and returns false.
 */
export function holdExportSlot(
  slots: ExportSlots,
  request: { readonly ip: string },
  reply: {
    readonly raw: NodeJS.EventEmitter;
    header(name: string, value: string): unknown;
    code(status: number): { send(body: unknown): unknown };
  },
): boolean {
  const release = slots.acquire(request.ip);
  if (release === undefined) {
    reply.header('retry-after', String(exportRetryAfterSeconds));
    reply.code(503).send({
      code: 'SERVICE_UNAVAILABLE',
      message: `Too many exports in progress; retry in ${exportRetryAfterSeconds} s.`,
    });
    return false;
  }
  reply.raw.once('close', release);
  return true;
}
