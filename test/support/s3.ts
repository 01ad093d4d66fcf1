/**
 * A real S3-compatible server for the test run: versitygw (Apache-2.0)
 * built from the pinned module in test/tools/versitygw, serving a posix
 * folder on a free loopback port, its metadata in a sidecar folder (no
 * xattrs needed). Tests find it through APPSTORE_TEST_S3_* variables.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureGoTool } from './go-tool.ts';
import { freePort, waitFor } from './ports.ts';
import type { Service } from './service.ts';

export const versitygwTool = {
  module: 'test/tools/versitygw',
  pkg: 'github.com/versity/versitygw/cmd/versitygw',
  name: 'versitygw',
};

export async function startS3(log: (m: string) => void): Promise<Service> {
  const bin = await ensureGoTool(versitygwTool, log);
  const dir = mkdtempSync(join(tmpdir(), 'appstore-s3-'));
  const data = join(dir, 'data');
  const meta = join(dir, 'meta');
  mkdirSync(data);
  mkdirSync(meta);
  const port = await freePort();
  const accessKey = 'appstore-test';
  const secretKey = randomBytes(18).toString('base64url');
  const region = 'us-east-1';
  const child = spawn(
    bin,
    [
      '--port', `127.0.0.1:${port}`,
      '--access', accessKey,
      '--secret', secretKey,
      '--region', region,
      '--health', '/health',
      '--quiet',
      'posix', '--sidecar', meta, data,
    ],
    // Only what it needs: versitygw reads many VGW_* and ROOT_* variables.
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `versitygw exited (code ${code}, signal ${signal}): ${stderr}`));
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`versitygw at ${endpoint}`, async () => {
      if (exited) throw new Error(exited);
      const res = await fetch(`${endpoint}/health`);
      return res.ok;
    });
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  log(`s3 (versitygw) ready at ${endpoint}`);
  return {
    env: {
      APPSTORE_TEST_S3_ENDPOINT: endpoint,
      APPSTORE_TEST_S3_ACCESS_KEY: accessKey,
      APPSTORE_TEST_S3_SECRET_KEY: secretKey,
      APPSTORE_TEST_S3_REGION: region,
    },
    async stop() {
      if (!exited) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
