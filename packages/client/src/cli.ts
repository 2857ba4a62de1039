/**
 * The exchange's command line: `pnpm exchange <command> [options]`
 * (root script: "exchange": "tsx packages/client/src/cli.ts").
 *
 * Node-only (key files, streams); everything it does over HTTP goes through
 * the browser-ready SDK in this package. The commands live in src/cli/, one
 * module per group (market data, keys, operator, trader, verification, log),
 * dispatched by src/cli/program.ts. Results are printed as JSON on
 * stdout. Exit codes: 0 success, 1 the exchange (or the network) refused,
 * printed as `CODE: message`, 2 a usage error (unknown command or option,
 * missing or malformed value, unreadable key file), 4 and 5 from verify-proof
 * (operator equivocation, signature-only check). See docs/client.md.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from './cli/program.js';

export { commands, exitCodes, main, type Output } from './cli/program.js';

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exitCode = code;
}
