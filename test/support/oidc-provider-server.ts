/**
 * A real OpenID Connect provider for tests, run as its own process by
 * test/support/oidc.ts: the OpenID-certified `oidc-provider` package with a
 * few static users, a confidential client for the app store server and a
 * public CLI client with the device authorization grant.
 *
 * Sign-in is a plain HTML form (username + password) that tests submit with
 * fetch; consent is granted automatically (both clients are first-party).
 *
 *   node --import tsx test/support/oidc-provider-server.ts   (env below)
 *
 * Env: OIDC_PORT (required), OIDC_SERVER_CLIENT_SECRET (required).
 * Prints one line `ready <issuer>` on stdout once it listens.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { CLI_CLIENT_ID, SERVER_CLIENT_ID, USERS } from './oidc.ts';

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(page(body));
}

function page(body: string): string {
  return `<!doctype html><html><body>${body}</body></html>`;
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginForm(uid: string, error = ''): string {
  return (
    `<h1>Test provider sign-in</h1>${error ? `<p class="error">${escape(error)}</p>` : ''}` +
    `<form method="post" action="/interaction/${uid}/login">` +
    `<input name="username"><input name="password" type="password"><button type="submit">Sign in</button></form>`
  );
}

async function main(): Promise<void> {
  const port = Number(process.env.OIDC_PORT);
  const secret = process.env.OIDC_SERVER_CLIENT_SECRET;
  if (!port || !secret) throw new Error('set OIDC_PORT and OIDC_SERVER_CLIENT_SECRET');
  const issuer = `http://127.0.0.1:${port}`;
  // A fresh signing key per run: tokens from an earlier run never verify.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

  const configuration: Configuration = {
    clients: [
      {
        client_id: SERVER_CLIENT_ID,
        client_secret: secret,
        // native + loopback: the provider accepts any port (RFC 8252 7.3), as each test's server picks its own.
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/auth/callback'],
        post_logout_redirect_uris: ['http://127.0.0.1/'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: CLI_CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk as Record<string, unknown>] } as Configuration['jwks'],
    scopes: ['openid', 'profile', 'email', 'roles', 'offline_access'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email'], roles: ['roles'] },
    // Put the scope's claims in the ID token too, as Keycloak does, so the server needs no userinfo call.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        // Bare pages around the provider's own forms (which carry the xsrf token), easy for tests to submit.
        userCodeInputSource: (ctx, form, _out, err) => void (ctx.body = page(`<h1>Enter the code</h1>${err ? '<p class="error">invalid code</p>' : ''}${form}`)),
        userCodeConfirmSource: (ctx, form, _client, _info, userCode) => void (ctx.body = page(`<h1>Confirm ${escape(userCode)}</h1>${form}`)),
        successSource: (ctx) => void (ctx.body = page('<h1>device-sign-in-done</h1>')),
      },
      // The logout page confirms at once, as a user answering "yes, sign me out" (logout=yes): the provider's own session ends too.
      rpInitiatedLogout: { enabled: true, logoutSource: (ctx, form) => void (ctx.body = page(`${form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>')}<script>document.forms[0].submit()</script>`)) },
      revocation: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // Refresh tokens for every client allowed the grant, without the offline_access + prompt=consent dance.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    cookies: { keys: ['test-cookie-key-not-secret'] },
    findAccount: (_ctx: KoaContextWithOIDC, id: string) => {
      const u = USERS[id];
      if (!u) return undefined;
      return { accountId: id, claims: () => ({ sub: id, name: u.name, email: u.email, ...(u.roles ? { roles: u.roles } : {}) }) };
    },
    ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 3600, Interaction: 600, Session: 3600, Grant: 3600, DeviceCode: 600 },
  };
  const provider = new Provider(issuer, configuration);
  // Logout redirects back to any port on loopback, like the redirect URIs above (the provider matches them exactly).
  const allowed = provider.Client.prototype.postLogoutRedirectUriAllowed;
  provider.Client.prototype.postLogoutRedirectUriAllowed = function (this: InstanceType<typeof provider.Client>, value: string) {
    const u = URL.canParse(value) ? new URL(value) : undefined;
    if (u?.protocol === 'http:' && u.hostname === '127.0.0.1') return true;
    return allowed.call(this, value);
  };
  const callback = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const uid = details.uid;
    if (req.method === 'GET' && details.prompt.name === 'login') return html(res, 200, loginForm(uid));
    if (req.method === 'POST' && path === `/interaction/${uid}/login`) {
      const form = await readForm(req);
      const username = form.get('username') ?? '';
      const user = USERS[username];
      if (!user || user.password !== form.get('password')) return html(res, 200, loginForm(uid, 'wrong username or password'));
      return void (await provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false }));
    }
    if (details.prompt.name === 'consent') {
      // First-party clients: grant what was asked without a consent page.
      const { accountId } = details.session ?? {};
      const clientId = details.params.client_id as string;
      const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId });
      if (!grant) throw new Error('grant vanished');
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
      const grantId = await grant.save();
      return void (await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true }));
    }
    html(res, 400, `unexpected interaction ${escape(details.prompt.name)} for ${escape(req.method ?? '')} ${escape(path)}`);
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (path.startsWith('/interaction/')) {
      interaction(req, res, path).catch((err: unknown) => {
        process.stderr.write(`[oidc] interaction failed: ${String(err)}\n`);
        if (!res.headersSent) html(res, 500, escape(String(err)));
        else res.end();
      });
      return;
    }
    void callback(req, res);
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${issuer}\n`));
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => server.close(() => process.exit(0)));
}

main().catch((err: unknown) => {
  process.stderr.write(`[oidc] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
