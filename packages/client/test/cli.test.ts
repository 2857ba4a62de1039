/**
 * The CLI as a child process (`node --import tsx packages/client/src/cli.ts`):
 * usage errors exit 2 with a clear message, server refusals exit 1 as
 * `CODE: message`, keygen writes Backpack key files, and the operator and
 * trader commands put verifiable requests on the wire (checked against a
 * recording node:http server and the engine's verification).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeBase64 } from '../src/base64.js';
import { generateKeyPair, keyPairFromSecret } from '../src/keys.js';
import { parseInstruction, verifySignature, parseSigningString } from '@vex/engine';
import { signatureVerifiesOver, verifiedSigningString } from './engine-check.js';
import { startRecorder, type Recorder } from './http-recorder.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'exchange-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Command-line arguments as one text: the literal text splits at whitespace, each `${value}` is one argument. */
function argv(literals: TemplateStringsArray, ...values: readonly string[]): string[] {
  const args: string[] = [];
  literals.forEach((literal, index) => {
    args.push(...literal.split(/\s+/).filter((word) => word !== ''));
    if (index < values.length) args.push(values[index]!);
  });
  return args;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'packages/client/src/cli.ts', ...args],
      // PORT=9 (discard) so nothing is reached by accident; DATA_DIR in a temp dir.
      { cwd: root, env: { ...process.env, PORT: '9', DATA_DIR: path.join(work, 'no-data'), ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe.concurrent('usage errors exit 2 with a clear message', () => {
  it.each([
    ['no command', [], /Usage: exchange <command>/],
    ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['an unknown option before the command', ['--bogus', 'markets'], /the command comes first/],
    ['an unknown option', ['markets', '--bogus'], /unknown option --bogus for "markets"/],
    ['a stray argument', ['markets', 'SOL_USDC'], /unexpected argument "SOL_USDC"/],
    ['a missing flag', ['depth'], /missing required option --symbol/],
    ['a flag without its value', ['depth', '--symbol'], /--symbol <value> needs a value/],
    [
      'a bad price',
      ['order', '--key', 'k.json', '--symbol', 'SOL_USDC', '--side', 'Bid', '--price', 'abc', '--quantity', '1'],
      /--price must be a non-negative decimal/,
    ],
    [
      'an exponent quantity',
      ['order', '--key', 'k.json', '--symbol', 'SOL_USDC', '--side', 'Bid', '--price', '1', '--quantity', '1e3'],
      /--quantity must be a non-negative decimal/,
    ],
    [
      'a client id beyond 32 bits',
      argv`order --key k.json --symbol SOL_USDC --side Bid --price 1 --quantity 1 --client-id 4294967296`,
      /--client-id must be a whole number from 0 to 4294967295/,
    ],
    [
      'a bad side',
      ['order', '--key', 'k.json', '--symbol', 'SOL_USDC', '--side', 'Buy', '--price', '1', '--quantity', '1'],
      /--side must be one of Bid, Ask/,
    ],
    [
      'a limit order without a price',
      ['order', '--key', 'k.json', '--symbol', 'SOL_USDC', '--side', 'Bid', '--quantity', '1'],
      /a Limit order needs --price/,
    ],
    [
      'a market order with both amounts',
      argv`order --key k.json --symbol SOL_USDC --side Bid --type Market --quantity 1 --quote-quantity 2`,
      /exactly one of --quantity and --quote-quantity/,
    ],
    [
      'cancel without an id',
      ['cancel', '--key', 'k.json', '--symbol', 'SOL_USDC'],
      /exactly one of --order-id and --client-id/,
    ],
    ['a negative withdrawal id', ['complete-withdrawal', '--id=-1', '--chain-tx', 'x'], /--id must be a whole number/],
    ['a fractional withdrawal id', ['fail-withdrawal', '--id', '1.5', '--reason', 'x'], /--id must be a whole number/],
    [
      'a deposit to a non-key',
      ['deposit', '--to', 'alice', '--symbol', 'USDC', '--quantity', '10'],
      /--to must be the base64 public key/,
    ],
    ['a bad url', ['markets', '--url', 'ftp://x'], /--url must be an http\(s\) URL/],
    [
      'a bad window',
      ['balances', '--key', 'k.json', '--window', '60001'],
      /--window must be a whole number from 1 to 60000/,
    ],
    ['a bad withdrawal status', ['withdrawals', '--status', 'Done'], /--status must be one of Pending/],
    [
      'an export into a missing directory',
      ['export-log', '--out', path.join(work, 'no', 'such', 'dir', 'x.log')],
      /cannot write to the directory of/,
    ],
    [
      'a missing trader key file',
      ['balances', '--key', path.join(work, 'missing.json')],
      /cannot read the trader key file .*missing\.json: no such file\. Pass --key <file>/,
    ],
    [
      'a missing default operator key',
      ['deposit', '--to', generateKeyPair().publicKey, '--symbol', 'USDC', '--quantity', '10'],
      /cannot read the operator key file .*operator-key\.json: no such file\. Pass --operator-key <file>/,
    ],
  ])('%s', async (_name, args, message) => {
    const run = await cli(args);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('a key file that is not a key', async () => {
    const file = path.join(work, 'bad-key.json');
    writeFileSync(file, JSON.stringify({ secret: 'c2hvcnQ=', publicKey: 'x' }));
    const run = await cli(['balances', '--key', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bad-key\.json: The secret must be base64 of 32 bytes, not 5/);
  });

  it('a key file whose public key does not match its secret', async () => {
    const file = path.join(work, 'mismatched-key.json');
    writeFileSync(file, JSON.stringify({ secret: generateKeyPair().secret, publicKey: generateKeyPair().publicKey }));
    const run = await cli(['balances', '--key', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/"publicKey" is not the public key of "secret"/);
  });
});

describe.concurrent('help', () => {
  it('general help lists every command and exits 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    for (const command of [
      'keygen',
      'deposit',
      'complete-withdrawal',
      'fail-withdrawal',
      'markets',
      'assets',
      'status',
      'depth',
      'order',
      'cancel',
      'cancel-all',
      'balances',
      'open-orders',
      'withdraw',
      'export-log',
    ]) {
      expect(run.stdout).toContain(`    ${command} `);
    }
  });

  it('per-command help', async () => {
    const run = await cli(['order', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: exchange order --key <file> --symbol <market> --side Bid\|Ask/);
    expect(run.stdout).toContain('--post-only');
    expect(run.stdout).toContain('--url <url>');
    const viaHelp = await cli(['help', 'deposit']);
    expect(viaHelp.stdout).toContain('--operator-key <file>');
  });
});

describe.concurrent('keygen', () => {
  it('prints a Backpack key pair', async () => {
    const run = await cli(['keygen']);
    expect(run.code).toBe(0);
    const pair = JSON.parse(run.stdout) as { secret: string; publicKey: string };
    expect(decodeBase64(pair.secret)).toHaveLength(32);
    expect(keyPairFromSecret(pair.secret)).toEqual(pair);
  });

  it('writes a 0600 key file, refuses to overwrite it without --force', async () => {
    const file = path.join(work, 'alice.json');
    const first = await cli(['keygen', '--out', file]);
    expect(first.code, first.stderr).toBe(0);
    const written = JSON.parse(readFileSync(file, 'utf8')) as { secret: string; publicKey: string };
    expect(keyPairFromSecret(written.secret)).toEqual(written);
    expect(JSON.parse(first.stdout)).toEqual({ publicKey: written.publicKey, file });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const again = await cli(['keygen', '--out', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; pass --force/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(written);

    const forced = await cli(['keygen', '--out', file, '--force']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).not.toEqual(written);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('commands against a recording HTTP server', () => {
  let recorder: Recorder;
  const operator = generateKeyPair();
  const trader = generateKeyPair();
  const dataDirectory = path.join(work, 'data');
  const traderKeyFile = path.join(work, 'trader.json');

  beforeAll(async () => {
    recorder = await startRecorder();
    mkdirSync(dataDirectory, { recursive: true });
    writeFileSync(path.join(dataDirectory, 'operator-key.json'), JSON.stringify(operator));
    writeFileSync(traderKeyFile, JSON.stringify(trader));
  });
  afterAll(async () => {
    await recorder.close();
  });
  beforeEach(() => {
    recorder.requests.length = 0;
    recorder.handler = () => ({ json: { ok: true } });
  });

  const run = (args: readonly string[]): Promise<Run> =>
    cli([...args, '--url', recorder.baseUrl], { DATA_DIR: dataDirectory });

  function operatorInstruction(): unknown {
    const request = recorder.requests.at(-1);
    if (request === undefined) throw new Error('nothing was sent');
    expect(`${request.method} ${request.url}`).toBe('POST /api/v1/transactions');
    const body = JSON.parse(request.body) as { message: string; publicKey: string; signature: string };
    expect(body.publicKey).toBe(operator.publicKey);
    const bytes = new TextEncoder().encode(body.message);
    expect(verifySignature(decodeBase64(body.publicKey), bytes, decodeBase64(body.signature))).toBe('valid');
    const parsed = parseSigningString(bytes);
    if (!parsed.ok) throw new Error(parsed.message);
    const instruction = parseInstruction(parsed.value.groups);
    if (!instruction.ok) throw new Error(instruction.message);
    return instruction.instruction;
  }

  it('deposit signs depositCredit with the operator key from $DATA_DIR, with a random chain id by default', async () => {
    recorder.handler = () => ({ json: { sequence: 12 } });
    const result = await run(['deposit', '--to', trader.publicKey, '--symbol', 'usdc', '--quantity', '1000']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ sequence: 12 });
    const instruction = operatorInstruction() as Record<string, unknown>;
    expect(instruction).toMatchObject({
      kind: 'depositCredit',
      account: trader.publicKey,
      symbol: 'USDC',
      quantity: '1000',
      blockchain: 'Solana',
    });
    expect(instruction.chainTransactionId).toMatch(/^cli-[0-9a-f]{32}$/);

    const second = await run(
      argv`deposit --to ${trader.publicKey} --symbol USDC --quantity 5 --chain-tx abc123 --blockchain Ethereum`,
    );
    expect(second.code).toBe(0);
    expect(operatorInstruction()).toMatchObject({
      chainTransactionId: 'abc123',
      blockchain: 'Ethereum',
      quantity: '5',
    });
  });

  it('deposit with --operator-key', async () => {
    const other = generateKeyPair();
    const file = path.join(work, 'other-operator.json');
    writeFileSync(file, JSON.stringify(other));
    const result = await run(argv`deposit --to ${trader.publicKey} --symbol USDC --quantity 1 --operator-key ${file}`);
    expect(result.code).toBe(0);
    expect(JSON.parse(recorder.requests.at(-1)?.body ?? '{}').publicKey).toBe(other.publicKey);
  });

  it('complete-withdrawal, fail-withdrawal, list-asset, list-market', async () => {
    expect((await run(['complete-withdrawal', '--id', '4', '--chain-tx', '0xfeed'])).code).toBe(0);
    expect(operatorInstruction()).toEqual({
      kind: 'withdrawalComplete',
      withdrawalId: 4,
      chainTransactionId: '0xfeed',
    });
    expect((await run(['fail-withdrawal', '--id', '5', '--reason', 'address rejected'])).code).toBe(0);
    expect(operatorInstruction()).toEqual({ kind: 'withdrawalFail', withdrawalId: 5, reason: 'address rejected' });
    expect((await run(['list-asset', '--symbol', 'SOL', '--decimals', '9'])).code).toBe(0);
    expect(operatorInstruction()).toEqual({ kind: 'assetList', symbol: 'SOL', decimals: 9 });
    const listing = await run(
      argv`list-market --base SOL --quote USDC --tick-size 0.01 --step-size 0.001 --min-quantity 0.001
        --max-quantity 1000 --min-price 0.01 --max-price 100000 --maker-fee-bps 2 --taker-fee-bps 5
        --max-open-orders 200 --max-makers-per-order 50 --min-order-value 1`,
    );
    expect(listing.code, listing.stderr).toBe(0);
    expect(operatorInstruction()).toMatchObject({
      kind: 'marketList',
      symbol: 'SOL_USDC',
      baseSymbol: 'SOL',
      quoteSymbol: 'USDC',
      makerFeeBps: 2,
      takerFeeBps: 5,
      maxOpenOrders: 200,
      maxMakersPerOrder: 50,
      minOrderValue: '1',
    });
  });

  it('trader commands send verifiable signed requests', async () => {
    const cases: Array<[string[], string, string | undefined, RegExp]> = [
      [
        argv`order --key ${traderKeyFile} --symbol SOL_USDC --side bid --price 100
          --quantity 1 --post-only --client-id 7 --stp allow`,
        'POST /api/v1/order',
        '{"clientId":7,"orderType":"Limit","postOnly":true,"price":"100","quantity":"1","selfTradePrevention":"Allow","side":"Bid","symbol":"SOL_USDC"}',
        /^instruction=orderExecute&clientId=7&/,
      ],
      [
        argv`order --key ${traderKeyFile} --symbol SOL_USDC --side Bid --type Market --quote-quantity 25 --tif ioc`,
        'POST /api/v1/order',
        '{"orderType":"Market","quoteQuantity":"25","side":"Bid","symbol":"SOL_USDC","timeInForce":"IOC"}',
        /^instruction=orderExecute&orderType=Market&quoteQuantity=25&/,
      ],
      [
        argv`order --key ${traderKeyFile} --symbol SOL_USDC --side Ask --type Market --quantity 0.5 --trigger-price 95`,
        'POST /api/v1/order',
        '{"orderType":"Market","side":"Ask","symbol":"SOL_USDC","triggerPrice":"95","triggerQuantity":"0.5"}',
        /^instruction=orderExecute&orderType=Market&side=Ask&symbol=SOL_USDC&triggerPrice=95&triggerQuantity=0\.5&/,
      ],
      [
        argv`order --key ${traderKeyFile} --symbol SOL_USDC --side Bid --price 100
          --quantity 1 --take-profit 110 --stop-loss 95 --stop-loss-limit 94.5`,
        'POST /api/v1/order',
        '{"orderType":"Limit","price":"100","quantity":"1","side":"Bid","stopLossLimitPrice":"94.5","stopLossTriggerPrice":"95","symbol":"SOL_USDC","takeProfitTriggerPrice":"110"}',
        /^instruction=orderExecute&orderType=Limit&price=100&quantity=1&side=Bid&stopLossLimitPrice=94\.5&stopLossTriggerPrice=95&symbol=SOL_USDC&takeProfitTriggerPrice=110&/,
      ],
      [
        ['cancel', '--key', traderKeyFile, '--symbol', 'SOL_USDC', '--order-id', '111'],
        'DELETE /api/v1/order',
        '{"orderId":"111","symbol":"SOL_USDC"}',
        /^instruction=orderCancel&orderId=111&symbol=SOL_USDC&/,
      ],
      [
        ['cancel', '--key', traderKeyFile, '--symbol', 'SOL_USDC', '--client-id', '7'],
        'DELETE /api/v1/order',
        '{"clientId":7,"symbol":"SOL_USDC"}',
        /^instruction=orderCancel&clientId=7&/,
      ],
      [
        ['cancel-all', '--key', traderKeyFile, '--symbol', 'SOL_USDC'],
        'DELETE /api/v1/orders',
        '{"symbol":"SOL_USDC"}',
        /^instruction=orderCancelAll&symbol=SOL_USDC&/,
      ],
      [
        ['balances', '--key', traderKeyFile, '--window', '10000'],
        'GET /api/v1/capital',
        undefined,
        /^instruction=balanceQuery&timestamp=\d+&window=10000$/,
      ],
      [
        ['open-orders', '--key', traderKeyFile, '--symbol', 'SOL_USDC'],
        'GET /api/v1/orders?symbol=SOL_USDC',
        undefined,
        /^instruction=orderQueryAll&symbol=SOL_USDC&/,
      ],
      [
        ['open-orders', '--key', traderKeyFile],
        'GET /api/v1/orders',
        undefined,
        /^instruction=orderQueryAll&timestamp=/,
      ],
      [
        argv`withdraw --key ${traderKeyFile} --symbol USDC --quantity 10 --address ${'a b:c/d+e'} --blockchain Solana`,
        'POST /wapi/v1/capital/withdrawals',
        '{"address":"a b:c/d+e","blockchain":"Solana","quantity":"10","symbol":"USDC"}',
        /^instruction=withdraw&address=a b:c\/d\+e&blockchain=Solana&quantity=10&symbol=USDC&/,
      ],
      [
        ['withdrawals', '--key', traderKeyFile, '--limit', '5'],
        'GET /wapi/v1/capital/withdrawals?limit=5',
        undefined,
        /^instruction=withdrawalQueryAll&limit=5&/,
      ],
      [
        ['deposits', '--key', traderKeyFile],
        'GET /wapi/v1/capital/deposits',
        undefined,
        /^instruction=depositQueryAll&timestamp=/,
      ],
      [
        ['fills', '--key', traderKeyFile, '--symbol', 'SOL_USDC'],
        'GET /wapi/v1/history/fills?symbol=SOL_USDC',
        undefined,
        /^instruction=fillHistoryQueryAll&symbol=SOL_USDC&/,
      ],
    ];
    for (const [args, route, body, signed] of cases) {
      const result = await run(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ ok: true });
      const request = recorder.requests.at(-1);
      if (request === undefined) throw new Error('nothing was sent');
      expect(`${request.method} ${request.url}`).toBe(route);
      expect(request.body).toBe(body ?? '');
      expect(request.headers['x-api-key']).toBe(trader.publicKey);
      expect(verifiedSigningString(request), args.join(' ')).toMatch(signed);
    }
  });

  it('public commands', async () => {
    for (const [args, route] of [
      [['markets'], 'GET /api/v1/markets'],
      [['assets'], 'GET /api/v1/assets'],
      [['status'], 'GET /api/v1/status'],
      [['depth', '--symbol', 'SOL_USDC'], 'GET /api/v1/depth?symbol=SOL_USDC'],
      [['trades', '--symbol', 'SOL_USDC', '--limit', '3'], 'GET /api/v1/trades?limit=3&symbol=SOL_USDC'],
    ] as const) {
      const result = await run(args);
      expect(result.code).toBe(0);
      const request = recorder.requests.at(-1);
      expect(`${request?.method} ${request?.url}`).toBe(route);
    }
  });

  it('global options may also come before the command', async () => {
    for (const args of [
      ['--url', recorder.baseUrl, 'status'],
      [`--url=${recorder.baseUrl}`, '--window', '6000', 'status'],
    ]) {
      const result = await cli(args, { DATA_DIR: dataDirectory });
      expect(result.code, result.stderr).toBe(0);
      expect(`${recorder.requests.at(-1)?.method} ${recorder.requests.at(-1)?.url}`).toBe('GET /api/v1/status');
    }
  });

  it('withdrawals without --key: the operator listing, signed with the operator key as operatorWithdrawalQueryAll', async () => {
    recorder.handler = () => ({ json: [{ id: 1, account: trader.publicKey, status: 'Pending' }] });
    const result = await run(['withdrawals', '--status', 'pending', '--limit', '50']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([{ id: 1, account: trader.publicKey, status: 'Pending' }]);
    const request = recorder.requests.at(-1);
    if (request === undefined) throw new Error('nothing was sent');
    expect(`${request.method} ${request.url}`).toBe('GET /api/v1/operator/withdrawals?limit=50&status=Pending');
    expect(request.headers['x-api-key']).toBe(operator.publicKey);
    // A native route: the instruction is the operator's own, over the route's sorted query.
    const timestamp = String(request.headers['x-timestamp']);
    expect(
      signatureVerifiesOver(
        request,
        `instruction=operatorWithdrawalQueryAll&limit=50&status=Pending&timestamp=${timestamp}&window=5000`,
      ),
    ).toBe(true);
    expect(
      signatureVerifiesOver(
        request,
        `instruction=withdrawalQueryAll&limit=50&status=Pending&timestamp=${timestamp}&window=5000`,
      ),
    ).toBe(false);

    const plain = await run(['withdrawals']);
    expect(plain.code).toBe(0);
    expect(recorder.requests.at(-1)?.url).toBe('/api/v1/operator/withdrawals');

    const mixed = await run(['withdrawals', '--key', traderKeyFile, '--status', 'Pending']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/does not combine/);

    recorder.handler = () => ({
      status: 401,
      json: { code: 'UNAUTHORIZED', message: 'Only an operator key may list every withdrawal.' },
    });
    const refused = await run(['withdrawals']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('UNAUTHORIZED: Only an operator key may list every withdrawal.\n');
  });

  it('a refusal exits 1 and prints CODE: message', async () => {
    recorder.handler = () => ({
      status: 400,
      json: { code: 'INSUFFICIENT_FUNDS', message: 'The account does not hold enough available funds.' },
    });
    const result = await run(
      argv`withdraw --key ${traderKeyFile} --symbol USDC --quantity 10 --address x --blockchain Solana`,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('INSUFFICIENT_FUNDS: The account does not hold enough available funds.\n');
    expect(result.stdout).toBe('');
    recorder.handler = () => ({
      status: 401,
      json: { code: 'UNAUTHORIZED', message: 'Only an operator key may sign depositCredit.' },
    });
    const unauthorized = await run(['deposit', '--to', trader.publicKey, '--symbol', 'USDC', '--quantity', '1']);
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stderr).toBe('UNAUTHORIZED: Only an operator key may sign depositCredit.\n');
  });

  it('an unreachable server exits 1 with NETWORK_ERROR', async () => {
    const result = await cli(['markets', '--url', 'http://127.0.0.1:9']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^NETWORK_ERROR: GET http:\/\/127\.0\.0\.1:9\/api\/v1\/markets failed/);
  });

  it('export-log streams GET /api/v1/log to the file', async () => {
    const log = randomBytes(300_000);
    recorder.handler = () => ({ bytes: log });
    const out = path.join(work, 'exchange.log');
    const result = await run(['export-log', '--out', out, '--from', '5']);
    expect(result.code, result.stderr).toBe(0);
    expect(recorder.requests.at(-1)?.url).toBe('/api/v1/log?from=5');
    expect(readFileSync(out).equals(log)).toBe(true);
    expect(JSON.parse(result.stdout)).toEqual({ file: out, bytes: log.length, from: 5 });
    expect(existsSync(`${out}.partial`)).toBe(false);

    const again = await run(['export-log', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; pass --force/);

    recorder.handler = () => ({ bytes: log.subarray(0, 10) });
    const forced = await run(['export-log', '--out', out, '--force']);
    expect(forced.code).toBe(0);
    expect(recorder.requests.at(-1)?.url).toBe('/api/v1/log');
    expect(readFileSync(out).equals(log.subarray(0, 10))).toBe(true);
  });

  it('export-log never writes through a planted <out>.partial symlink', async () => {
    recorder.handler = () => ({ bytes: randomBytes(1000) });
    const victim = path.join(work, 'victim.txt');
    writeFileSync(victim, 'precious');
    const out = path.join(work, 'planted.log');
    symlinkSync(victim, `${out}.partial`);
    const result = await run(['export-log', '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/planted\.log\.partial already exists/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(existsSync(out)).toBe(false);
    // A dangling link (its target not yet created) is not followed either.
    unlinkSync(`${out}.partial`);
    const target = path.join(work, 'would-be-created.txt');
    symlinkSync(target, `${out}.partial`);
    expect((await run(['export-log', '--out', out])).code).toBe(2);
    expect(existsSync(target)).toBe(false);
  });

  it('export-log reports a refusal and leaves no file', async () => {
    recorder.handler = () => ({
      status: 400,
      json: { code: 'INVALID_CLIENT_REQUEST', message: 'from is beyond the head of the log.' },
    });
    const out = path.join(work, 'refused.log');
    const result = await run(['export-log', '--out', out, '--from', '999']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('INVALID_CLIENT_REQUEST: from is beyond the head of the log.\n');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });
});
