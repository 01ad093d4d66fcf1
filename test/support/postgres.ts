/**
 * A throwaway PostgreSQL cluster for the test run: initdb into a temp
 * folder, pg_ctl start on a free loopback port, dropped at the end.
 * Uses Debian's `postgresql` package (installed by .ci/run).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';
import type { Service } from './service.ts';

const run = promisify(execFile);

function pgBin(): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  }
  try {
    return join(execFileSync('pg_config', ['--bindir']).toString().trim());
  } catch {
    throw new Error('PostgreSQL server binaries not found: install them with `apt-get install -y postgresql` (the test setup in .ci/run does this)');
  }
}

/** initdb refuses to run as root; as root we run the server as the `postgres` user. */
function asUser(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
  return [cmd, args];
}

export async function startPostgres(log: (m: string) => void): Promise<Service> {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), 'appstore-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  await run(...asUser(join(bin, 'initdb'), ['-D', data, '-U', 'appstore', '--auth=trust', '-E', 'UTF8', '--no-sync']));
  await run(
    ...asUser(join(bin, 'pg_ctl'), [
      '-D', data, '-w', '-l', join(dir, 'server.log'),
      '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
      'start',
    ]),
  );
  const url = `postgres://appstore@127.0.0.1:${port}/postgres`;
  log(`postgres ready at ${url}`);
  return {
    env: { APPSTORE_TEST_PG_URL: url },
    async stop() {
      try {
        await run(...asUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
