/**
 * A live log: one export byte stream that never ends while a node keeps
 * appending (docs/replayer.md, "Watching a node"). It reads
 * `GET /api/v1/log?from=1`, then, every poll, `GET /api/v1/log?from=<next>`,
 * and splices them into a single export: the first header, then every entry
 * frame in order, and a trailer only once stopped. The replay's own export
 * reader then checks the hash chain across the pieces exactly as in one file
 * (each entry's previous hash is the entry before's, whichever request
 * brought it), so the follower itself trusts nothing it forwards; it only
 * checks each piece's framing and that it starts where the last one ended.
 */
import { ReplayInputError, errorMessage } from './replay-input-error.js';

export interface LogFollowerOptions {
  /** The node's base URL (http://host:port). */
  readonly nodeUrl: string;
  /** How long to wait between polls when nothing is new; default 1000 ms. `poke()` polls at once. */
  readonly pollMs?: number;
  /** A poll that failed (the node unreachable, a malformed piece): it is retried after `pollMs`. */
  readonly onError?: (error: unknown) => void;
}

const trailerBytes = 4 + 8 + 32;

/** Export bytes arriving in chunks: the framing read just far enough to split header, frames and trailer. */
class ChunkBuffer {
  private bytes = new Uint8Array(0);

  push(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.bytes.length + chunk.length);
    joined.set(this.bytes);
    joined.set(chunk, this.bytes.length);
    this.bytes = joined;
  }

  get length(): number {
    return this.bytes.length;
  }

  view(): DataView {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  take(count: number): Uint8Array {
    const taken = this.bytes.subarray(0, count);
    this.bytes = this.bytes.subarray(count);
    return taken;
  }
}

/** The length of an export header in `buffer`, or undefined when not all of it has arrived. */
function headerLength(buffer: ChunkBuffer): number | undefined {
  if (buffer.length < 13) return undefined;
  const length = 13 + buffer.view().getUint32(9) + 8 + 32;
  return buffer.length >= length ? length : undefined;
}

export class LogFollower {
  /** The next sequence to ask the node for. */
  private next = 1;
  private entriesForwarded = 0n;
  /** The last forwarded entry's hash, from the trailer of the piece that brought it. */
  private lastHash: Uint8Array | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly pollMs: number;
  private readonly baseUrl: string;
  private response: Response | undefined;

  constructor(private readonly options: LogFollowerOptions) {
    this.pollMs = options.pollMs ?? 1000;
    this.baseUrl = options.nodeUrl.replace(/\/+$/, '');
  }

  /** The sequence of the last entry forwarded to the replay (0 before any). */
  get forwardedSequence(): number {
    return this.next - 1;
  }

  /** Polls now instead of at the end of the current wait. */
  poke(): void {
    this.wake?.();
  }

  /** Ends the stream: the current wait ends and the trailer follows the entries forwarded. */
  stop(): void {
    this.stopped = true;
    void this.response?.body?.cancel().catch(() => undefined);
    this.wake?.();
  }

  /** The spliced export; a trailer closes it once stopped. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    let header: Uint8Array | undefined;
    while (!this.stopped) {
      try {
        for await (const piece of this.readPiece(header === undefined)) {
          if (header === undefined) header = piece;
          yield piece;
        }
      } catch (error) {
        if (this.stopped) break;
        this.options.onError?.(error);
      }
      await this.waitForPoll();
    }
    if (header === undefined || this.lastHash === undefined) return;
    const trailer = new Uint8Array(trailerBytes);
    new DataView(trailer.buffer).setBigUint64(4, this.entriesForwarded);
    trailer.set(this.lastHash, 12);
    yield trailer;
  }

  private waitForPoll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  /** One request from `next`: its header (the first time only), then each complete frame as it arrives. */
  private async *readPiece(withHeader: boolean): AsyncGenerator<Uint8Array> {
    const url = `${this.baseUrl}/api/v1/log?from=${this.next}`;
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new ReplayInputError(`cannot fetch ${url}: ${errorMessage(error)}`);
    }
    if (!response.ok || response.body === null) {
      throw new ReplayInputError(`${url} answered ${response.status} ${response.statusText}`);
    }
    this.response = response;
    const buffer = new ChunkBuffer();
    let phase: 'header' | 'frames' | 'done' = 'header';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer.push(chunk);
      if (phase === 'header') {
        const length = headerLength(buffer);
        if (length === undefined) continue;
        const headerBytes = buffer.take(length);
        const firstSequence = new DataView(headerBytes.buffer, headerBytes.byteOffset).getBigUint64(length - 40);
        if (firstSequence !== BigInt(this.next)) {
          throw new ReplayInputError(`${url} starts at entry ${firstSequence}, not ${this.next}`);
        }
        this.lastHash ??= headerBytes.slice(length - 32);
        if (withHeader) yield headerBytes.slice();
        phase = 'frames';
      }
      // Every complete frame of the chunk at once: the replay verifies them as one batch.
      let framesBytes = 0;
      let frames = 0;
      while (phase === 'frames' && buffer.length >= framesBytes + 4) {
        const frameLength = buffer.view().getUint32(framesBytes);
        if (frameLength === 0) {
          if (buffer.length < framesBytes + trailerBytes) break;
          phase = 'done';
          break;
        }
        if (buffer.length < framesBytes + 4 + frameLength) break;
        framesBytes += 4 + frameLength;
        frames += 1;
      }
      if (frames > 0) {
        const taken = buffer.take(framesBytes).slice();
        this.next += frames;
        this.entriesForwarded += BigInt(frames);
        yield taken;
      }
      if (phase === 'done') this.lastHash = buffer.take(trailerBytes).slice(12);
    }
    this.response = undefined;
    if (phase !== 'done') throw new ReplayInputError(`${url} ended before its trailer`);
  }
}
