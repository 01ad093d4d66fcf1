/**
 * Keys, certificates and tokens for one control-plane run: a CA, the
 * apiserver's serving certificate (for 127.0.0.1 and localhost), the
 * service-account signing key pair, and a static token per client.
 * Certificates come from the `openssl` command; keys from node:crypto.
 */
import { execFile } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const generateKeyPairAsync = promisify(generateKeyPair);

/** A client of the apiserver known by a static bearer token. */
export interface TokenUser {
  user: string;
  groups: string[];
  token: string;
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  saPublicKey: string;
  saPrivateKey: string;
  /** The apiserver's --token-auth-file. */
  tokenFile: string;
  users: Record<'admin' | 'controllerManager' | 'scheduler' | 'kwok', TokenUser>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('the `openssl` command is needed to make the test cluster\'s certificates: install it with `apt-get install -y openssl`');
    }
    throw new Error(`openssl ${args[0]} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
}

function token(): string {
  return randomBytes(24).toString('base64url');
}

/** Writes a fresh PKI into `dir` (created if missing). */
export async function createPki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => join(dir, f);
  const days = '3650';
  // EC keys: generating them takes milliseconds, RSA would take far longer.
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const sa = generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', days, '-subj', '/CN=appstore-test-cluster-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  await openssl(['req', ...ec, '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver'], dir);
  writeFileSync(
    p('apiserver.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
      '',
    ].join('\n'),
  );
  await openssl(['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'apiserver.crt',
    '-days', days, '-extfile', 'apiserver.ext'], dir);
  const { publicKey, privateKey } = await sa;
  writeFileSync(p('sa.pub'), publicKey);
  writeFileSync(p('sa.key'), privateKey, { mode: 0o600 });

  // The controller manager and scheduler use the identities the apiserver's bootstrap RBAC already grants;
  // kwok acts as every kubelet at once (node and pod status), so it is an admin.
  const users: Pki['users'] = {
    admin: { user: 'appstore-admin', groups: ['system:masters'], token: token() },
    controllerManager: { user: 'system:kube-controller-manager', groups: [], token: token() },
    scheduler: { user: 'system:kube-scheduler', groups: [], token: token() },
    kwok: { user: 'kwok-controller', groups: ['system:masters'], token: token() },
  };
  const lines = Object.values(users).map((u, i) => `${u.token},${u.user},uid-${i}${u.groups.length ? `,"${u.groups.join(',')}"` : ''}`);
  writeFileSync(p('tokens.csv'), lines.join('\n') + '\n', { mode: 0o600 });
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('apiserver.crt'),
    servingKey: p('apiserver.key'),
    saPublicKey: p('sa.pub'),
    saPrivateKey: p('sa.key'),
    tokenFile: p('tokens.csv'),
    users,
  };
}
