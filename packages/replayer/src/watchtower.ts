/**
 * The watchtower (`pnpm replay --watch <node URL>`; docs/custody.md, "The
 * committee's signatures"): a committee member that follows a node entry by
 * entry with one long replay (follow-source.ts: the hash chain, every
 * signature, every transition and every attestation record checked, the
 * state kept between entries), and signs a vault commit over HTTP only when
 * its own replay at that sequence agrees with it (commit-check.ts).
 *
 *   POST /sign     a signature request (commit-check.ts, as JSON) →
 *                  200 {signature, signer} | 409 {refused} | 400 {error}
 *   GET  /status   {signer, followedSequence, appliedSequence, diverged, signed, refusals}
 *
 * Once its replay diverges it refuses everything: it never signs past a log
 * it could not verify.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Address, Hex } from 'viem';
import { privateKeyToAddress, sign } from 'viem/accounts';
import { ChainCheckCollector } from './chain-check.js';
import { signatureRequestFromJson, signingRefusal, type SignatureRequest, type VaultIdentity } from './commit-check.js';
import { LogFollower } from './follow-source.js';
import { errorMessage } from './replay-input-error.js';
import { replayLog, type ReplayReport } from './replay-log.js';

export interface WatchtowerOptions {
  readonly nodeUrl: string;
  /** The member's secp256k1 key (0x and 64 hex digits). */
  readonly committeeKey: Hex;
  /** The vault the signatures are for: with it, the digest is recomputed from the commit before signing. */
  readonly identity?: VaultIdentity;
  readonly pollMs?: number;
  /** How long a request for a sequence the replay has not reached yet waits for it; default 20,000 ms. */
  readonly signWaitMs?: number;
  readonly onError?: (error: unknown) => void;
  readonly onRefusal?: (reason: string) => void;
}

export type SigningAnswer = { readonly signature: Hex } | { readonly refused: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class FollowingWatchtower {
  readonly collector = new ChainCheckCollector();
  readonly signer: Address;
  readonly refusals: string[] = [];
  signed = 0;
  /** The last entry the replay verified and applied. */
  appliedSequence = 0;
  /** Why the replay stopped trusting the log, once it has. */
  diverged: string | undefined;
  private readonly follower: LogFollower;
  private replay: Promise<ReplayReport | undefined> | undefined;

  constructor(private readonly options: WatchtowerOptions) {
    this.signer = privateKeyToAddress(options.committeeKey);
    this.follower = new LogFollower({
      nodeUrl: options.nodeUrl,
      ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    });
  }

  get followedSequence(): number {
    return this.follower.forwardedSequence;
  }

  /** Starts following; the replay runs until stop(). */
  start(): void {
    this.replay = replayLog({
      log: this.follower.chunks(),
      logDescription: `the log of ${this.options.nodeUrl}`,
      follow: true,
      workers: 1,
      onEntryApplied: (sequence, outcome, state) => {
        this.collector.onEntryApplied(sequence, outcome, state);
        this.appliedSequence = sequence;
      },
      onAttestationComputed: this.collector.onAttestationComputed,
    }).then(
      (report) => {
        if (!report.verified) this.diverged ??= report.divergence.message;
        return report;
      },
      (error: unknown) => {
        this.diverged ??= `the replay failed: ${errorMessage(error)}`;
        return undefined;
      },
    );
  }

  async stop(): Promise<void> {
    this.diverged ??= 'stopped';
    this.follower.stop();
    await this.replay;
  }

  /**
   * Signs `request` if the replay agrees with it. An attestation at sequence
   * s is known once its record (entry s + 1) is applied, so a request ahead
   * of the replay waits for it (polling the node at once).
   */
  async answer(request: SignatureRequest): Promise<SigningAnswer> {
    const needed = Number(request.sequence) + 1;
    const deadline = performance.now() + (this.options.signWaitMs ?? 20_000);
    let poked = 0;
    while (this.diverged === undefined && this.appliedSequence < needed && performance.now() < deadline) {
      if (performance.now() - poked > 250) {
        this.follower.poke();
        poked = performance.now();
      }
      await sleep(20);
    }
    const reason =
      this.diverged !== undefined
        ? `the replay of the node's log does not verify: ${this.diverged}`
        : this.appliedSequence < needed
          ? `the replay has not reached sequence ${needed} (at ${this.appliedSequence})`
          : signingRefusal(this.collector, request, this.options.identity);
    if (reason !== undefined) {
      this.refusals.push(reason);
      this.options.onRefusal?.(reason);
      return { refused: reason };
    }
    this.signed += 1;
    return { signature: await sign({ hash: request.digest, privateKey: this.options.committeeKey, to: 'hex' }) };
  }

  status(): Record<string, unknown> {
    return {
      signer: this.signer,
      followedSequence: this.followedSequence,
      appliedSequence: this.appliedSequence,
      diverged: this.diverged ?? null,
      signed: this.signed,
      refusals: this.refusals.length,
    };
  }
}

const maximumBodyBytes = 1 << 20;

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maximumBodyBytes) throw new Error('the request body is too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function route(watchtower: FollowingWatchtower, request: IncomingMessage, response: ServerResponse) {
  if (request.method === 'GET' && request.url === '/status') return send(response, 200, watchtower.status());
  if (request.method !== 'POST' || request.url !== '/sign') return send(response, 404, { error: 'not found' });
  let signatureRequest: SignatureRequest;
  try {
    signatureRequest = signatureRequestFromJson(await readBody(request));
  } catch (error) {
    return send(response, 400, { error: errorMessage(error) });
  }
  const answer = await watchtower.answer(signatureRequest);
  if ('refused' in answer) return send(response, 409, answer);
  return send(response, 200, { signature: answer.signature, signer: watchtower.signer });
}

/** Serves the watchtower's signing endpoint; resolves with the server and its base URL once listening. */
export async function serveWatchtower(
  watchtower: FollowingWatchtower,
  host: string,
  port: number,
): Promise<{ readonly server: Server; readonly url: string }> {
  const server = createServer((request, response) => {
    route(watchtower, request, response).catch((error: unknown) => send(response, 500, { error: errorMessage(error) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host}:${address.port}` };
}
