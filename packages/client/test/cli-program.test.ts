/**
 * The CLI's dispatch in-process: the generated help lists every command of
 * every group module, each command's help lists its options, and the exit
 * codes are the ones docs/client.md documents.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commands, exitCodes, main } from '../src/cli.js';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

describe('CLI program', () => {
  it('general help lists every command with its summary', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(exitCodes.success);
    expect(Object.keys(commands).length).toBeGreaterThanOrEqual(27);
    for (const [name, command] of Object.entries(commands)) {
      expect(help.stdout).toMatch(
        new RegExp(`\\n    ${name} +${command.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`),
      );
    }
  });

  it("each command's help lists each of its options", async () => {
    for (const [name, command] of Object.entries(commands)) {
      const help = await run([name, '--help']);
      expect(help.code, name).toBe(exitCodes.success);
      for (const option of Object.keys(command.options))
        expect(help.stdout, `${name} --${option}`).toContain(`--${option}`);
    }
  });

  it('usage errors exit 2, options before the command are global ones', async () => {
    expect((await run(['markets', '--bogus'])).code).toBe(exitCodes.usage);
    expect((await run(['--bogus', 'markets'])).stderr).toMatch(/the command comes first/);
    const misplaced = await run(['--url', 'ftp://x', 'markets']);
    expect(misplaced.code).toBe(exitCodes.usage);
    expect(misplaced.stderr).toMatch(/--url must be an http\(s\) URL/);
  });

  it('docs/client.md documents every exit code', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    const documentation = readFileSync(path.join(root, 'docs/client.md'), 'utf8');
    for (const code of Object.values(exitCodes)) expect(documentation).toMatch(new RegExp(`\\n\\| ${code} \\|`));
  });
});
