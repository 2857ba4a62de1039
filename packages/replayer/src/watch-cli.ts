/**
 * `pnpm replay --watch <node URL> --vault <address> --chain <rpc> [--committee-key <file>] [--port <n>]`:
 * runs the watchtower (watchtower.ts) until SIGINT or SIGTERM. The key is
 * read from the file, or from the environment variable VEX_COMMITTEE_KEY;
 * the chain id is read once from the RPC endpoint, so that every digest is
 * recomputed for exactly this vault on exactly this chain.
 */
import { readFile } from 'node:fs/promises';
import { createPublicClient, http, type Address, type Hex } from 'viem';
import { isHttpUrl } from './input-source.js';
import { ReplayInputError, errorMessage } from './replay-input-error.js';
import { FollowingWatchtower, serveWatchtower } from './watchtower.js';

export interface WatchValues {
  readonly watch?: string;
  readonly 'committee-key'?: string;
  readonly vault?: string;
  readonly chain?: string;
  readonly port?: string;
  readonly host?: string;
  readonly 'poll-ms'?: string;
  readonly json?: boolean;
}

const privateKeyPattern = /^0x[0-9a-fA-F]{64}$/;

async function committeeKey(file: string | undefined): Promise<Hex> {
  let text: string | undefined = process.env.VEX_COMMITTEE_KEY;
  if (file !== undefined) {
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ReplayInputError(`cannot read the committee key ${file}: ${errorMessage(error)}`);
    }
  }
  if (text === undefined) {
    throw new ReplayInputError('--watch needs the committee key: --committee-key <file> or VEX_COMMITTEE_KEY');
  }
  const key = text.trim();
  if (!privateKeyPattern.test(key)) throw new ReplayInputError('the committee key must be 0x and 64 hex digits');
  return key as Hex;
}

function integer(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^(0|[1-9][0-9]{0,8})$/.test(text)) throw new ReplayInputError(`${name} must be a non-negative integer`);
  return Number(text);
}

/** Checks the options; the usage errors are thrown as ReplayInputError (exit 2). */
async function watchSettings(values: WatchValues) {
  const nodeUrl = values.watch!;
  if (!isHttpUrl(nodeUrl)) throw new ReplayInputError('--watch takes a node URL (http://host:port)');
  if (values.vault === undefined || !/^0x[0-9a-fA-F]{40}$/.test(values.vault) || values.chain === undefined) {
    throw new ReplayInputError('--watch needs --vault <address> and --chain <rpc> (the vault its signatures are for)');
  }
  const key = await committeeKey(values['committee-key']);
  let chainId: number;
  try {
    chainId = await createPublicClient({ transport: http(values.chain, { retryCount: 1 }) }).getChainId();
  } catch (error) {
    throw new ReplayInputError(`cannot read the chain id from ${values.chain}: ${errorMessage(error)}`);
  }
  return {
    nodeUrl,
    key,
    identity: { chainId: BigInt(chainId), vault: values.vault as Address },
    port: integer(values.port, '--port', 0),
    pollMs: integer(values['poll-ms'], '--poll-ms', 1000),
  };
}

/** Runs until a signal; prints one line when listening and one per refusal. */
export async function runWatch(
  values: WatchValues,
  output: { stdout(text: string): void; stderr(text: string): void },
): Promise<number> {
  const settings = await watchSettings(values);
  const watchtower = new FollowingWatchtower({
    nodeUrl: settings.nodeUrl,
    committeeKey: settings.key,
    identity: settings.identity,
    pollMs: settings.pollMs,
    onError: (error) => output.stderr(`watch: ${errorMessage(error)}\n`),
    onRefusal: (reason) => output.stdout(`refused: ${reason}\n`),
  });
  watchtower.start();
  const { server, url } = await serveWatchtower(watchtower, values.host ?? '127.0.0.1', settings.port);
  output.stdout(
    `watchtower ${watchtower.signer} signing at ${url}/sign for vault ${settings.identity.vault} ` +
      `(chain ${settings.identity.chainId}), following ${settings.nodeUrl}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  server.close();
  server.closeAllConnections();
  await watchtower.stop();
  output.stdout(`stopped at sequence ${watchtower.appliedSequence}, ${watchtower.signed} signed\n`);
  return 0;
}
