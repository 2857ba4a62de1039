/**
 * A local chain for the page's custody test: anvil (npm @foundry-rs/anvil's
 * platform binary, started on 127.0.0.1 with --port 0 and stopped by its pid)
 * and the stand-in contracts of StandInVault.sol, compiled in process with
 * solc-js (nothing downloaded) and deployed with viem from anvil's first
 * unlocked account.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, createWalletClient, http, type Abi, type Address, type Hex } from 'viem';
import { foundry } from 'viem/chains';

const require = createRequire(import.meta.url);

export interface LocalChain {
  readonly rpcUrl: string;
  readonly chainId: number;
  stop(): Promise<void>;
}

function anvilBinary(): string {
  const wrapper = path.dirname(require.resolve('@foundry-rs/anvil/package.json'));
  const platform = `@foundry-rs/anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
  return path.join(
    path.dirname(createRequire(path.join(wrapper, 'package.json')).resolve(`${platform}/package.json`)),
    'bin',
    'anvil',
  );
}

export async function startLocalChain(): Promise<LocalChain> {
  const child = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`anvil did not start: ${output.slice(-300)}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`anvil exited with ${code}: ${output.slice(-300)}`)));
  });
  return {
    rpcUrl: `http://127.0.0.1:${port}`,
    chainId: foundry.id,
    async stop() {
      if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
    },
  };
}

export interface Compiled {
  readonly abi: Abi;
  readonly bytecode: Hex;
}

/** Compiles StandInVault.sol with solc-js, pinned to the cancun EVM. */
export function compileStandIns(): Record<'StandInToken' | 'StandInVault', Compiled> {
  const solc = require('solc') as { compile(input: string): string };
  const source = readFileSync(fileURLToPath(new URL('StandInVault.sol', import.meta.url)), 'utf8');
  const input = {
    language: 'Solidity',
    sources: { 'StandInVault.sol': { content: source } },
    settings: { evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((error) => error.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((error) => error.formattedMessage).join('\n'));
  const contract = (name: string): Compiled => {
    const compiled = output.contracts['StandInVault.sol']![name]!;
    return { abi: compiled.abi, bytecode: `0x${compiled.evm.bytecode.object}` };
  };
  return { StandInToken: contract('StandInToken'), StandInVault: contract('StandInVault') };
}

export function chainClients(chain: LocalChain) {
  const transport = http(chain.rpcUrl);
  return {
    publicClient: createPublicClient({ chain: foundry, transport }),
    walletClient: createWalletClient({ chain: foundry, transport }),
  };
}

/** Deploys a contract from anvil's first account and waits for it. */
export async function deploy(chain: LocalChain, compiled: Compiled, args: readonly unknown[]): Promise<Address> {
  const { publicClient, walletClient } = chainClients(chain);
  const [account] = await walletClient.getAddresses();
  const hash = await walletClient.deployContract({
    abi: compiled.abi,
    bytecode: compiled.bytecode,
    args,
    account: account!,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  return receipt.contractAddress!;
}

/** Sends a contract call from anvil's first account and waits for it. */
export async function send(
  chain: LocalChain,
  address: Address,
  compiled: Compiled,
  functionName: string,
  args: readonly unknown[],
) {
  const { publicClient, walletClient } = chainClients(chain);
  const [account] = await walletClient.getAddresses();
  const hash = await walletClient.writeContract({
    address,
    abi: compiled.abi,
    functionName,
    args,
    account: account!,
  });
  await publicClient.waitForTransactionReceipt({ hash });
}
