/**
 * One source of truth per fact: every flag `--help` shows is in docs/cli.md's table for that command,
 * every flag the table lists exists, and where `--help` prints a default the table states the same one.
 * (As fastify checks its docs' error codes against its errors table.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, runToExit } from '../helpers/index.ts';

/** flag name (`--queue-size`) → default as --help prints it (unquoted), or null when none is printed. */
async function helpFlags(command: string): Promise<Map<string, string | null>> {
  const { stdout } = await runToExit([command, '--help'], 30_000);
  const options = stdout.slice(stdout.indexOf('Options:'));
  // Commander wraps descriptions: an entry starts with two spaces and a dash, continuation lines do not.
  const entries = options.split(/\n(?=  -)/).map((e) => e.replace(/\s+/g, ' ').trim());
  const flags = new Map<string, string | null>();
  for (const entry of entries) {
    const name = /--[a-z0-9-]+/.exec(entry)?.[0];
    if (name === undefined || name === '--help') continue;
    const def = /default: ("[^"]*"|[^,)]+)\)/.exec(entry)?.[1] ?? null;
    flags.set(name, def === null ? null : def.replace(/^"|"$/g, ''));
  }
  return flags;
}

/** flag name → the table's default cell (backticks removed) under the `### \`zeroproxy <command>\`` heading. */
function docFlags(command: string): Map<string, string> {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
  const start = doc.indexOf(`### \`zeroproxy ${command}\``);
  assert.ok(start >= 0, `docs/cli.md has a section for zeroproxy ${command}`);
  const end = doc.indexOf('\n#', start + 1);
  const flags = new Map<string, string>();
  for (const row of doc.slice(start, end < 0 ? undefined : end).matchAll(/^\| `(--[a-z0-9-]+)[^`]*` \| ([^|]*) \|/gm)) {
    flags.set(row[1]!, row[2]!.trim().replace(/`/g, ''));
  }
  return flags;
}

describe('docs/cli.md agrees with --help', () => {
  for (const command of ['router', 'worker']) {
    it(`zeroproxy ${command}: the same flags, the same defaults`, async () => {
      const help = await helpFlags(command);
      const docs = docFlags(command);
      assert.deepEqual([...help.keys()].filter((f) => !docs.has(f)), [], `flags in --help missing from docs/cli.md (${command})`);
      assert.deepEqual([...docs.keys()].filter((f) => !help.has(f)), [], `flags in docs/cli.md that --help does not know (${command})`);
      for (const [flag, def] of help) {
        if (def !== null) assert.equal(docs.get(flag), def, `default of ${command} ${flag}`);
      }
    });
  }
});
