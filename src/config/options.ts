/**
 * Every configuration option: where it lives in the TOML file, which
 * environment variable overrides it, its type and default. The loader,
 * `appstore server --help` and docs/configuration.md are all driven by this
 * table, so an option cannot exist in one place and not the others.
 */

export type OptionType =
  | { kind: 'string' }
  | { kind: 'int'; min?: number; max?: number }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  /** Kubernetes resource quantity (`512Mi`, `0.5`); empty allowed when the default is empty. */
  | { kind: 'quantity' }
  /** Byte size written as a Kubernetes quantity (`1Gi`), stored as a number of bytes. */
  | { kind: 'bytes' }
  | { kind: 'list' }
  | { kind: 'url' }
  | { kind: 'listen' }
  /** Duration written as `90s`, `30m`, `12h`, `7d` or combined (`1h30m`), stored as whole seconds. */
  | { kind: 'duration' };

export interface Option {
  /** TOML section path, e.g. `Scheduler.DefaultRuntimeLimit`. */
  section: string;
  /** TOML key, e.g. `MemoryLimit`. */
  key: string;
  /** Environment variable that overrides it. */
  env: string;
  type: OptionType;
  default: string | number | boolean | string[];
  description: string;
  /** Accepted but no longer used; a warning is logged when set. */
  deprecated?: string;
}

/** `AllowedGPUTypes` → `ALLOWED_GPU_TYPES`, `KubeConfig` → `KUBE_CONFIG` (the seed's spelling). */
export function envName(prefix: string, key: string): string {
  const words = key.match(/[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+/g) ?? [key];
  return prefix + words.map((w) => w.toUpperCase()).join('_');
}

const str = { kind: 'string' } as const;
const bool = { kind: 'bool' } as const;
const quantity = { kind: 'quantity' } as const;

function section(name: string, envPrefix: string, opts: Array<Omit<Option, 'section' | 'env'> & { env?: string }>): Option[] {
  return opts.map((o) => ({ ...o, section: name, env: o.env ?? envName(envPrefix, o.key) }));
}

export const OPTIONS: Option[] = [
  ...section('Server', 'H2O_CLOUD_SERVER_', [
    { key: 'Listen', type: { kind: 'listen' }, default: '127.0.0.1:8080', description: 'Address and port the server listens on (host:port).' },
    { key: 'PublicURL', type: { kind: 'url' }, default: '', description: 'URL users reach the app store at; empty means http://localhost:<port>.' },
    { key: 'DataDir', type: str, default: './data', description: 'Folder for the embedded database and the filesystem blob store.' },
    { key: 'Roles', type: { kind: 'list' }, default: ['api', 'web', 'router', 'operator'], description: 'Parts this process runs: any of api, web, router, operator.' },
    { key: 'LogLevel', type: { kind: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] }, default: 'info', description: 'Log level.' },
    { key: 'MaxUploadSize', type: { kind: 'bytes' }, default: '1Gi', description: 'Largest bundle upload accepted.' },
  ]),
  ...section('Database', 'H2O_CLOUD_DATABASE_', [
    { key: 'URL', type: str, default: '', description: 'PostgreSQL connection URL; empty means the embedded PGlite database in DataDir/db.' },
  ]),
  ...section('Storage', 'H2O_CLOUD_STORAGE_', [
    { key: 'Kind', type: { kind: 'enum', values: ['fs', 's3'] }, default: 'fs', description: 'Blob store for bundles, icons and screenshots: fs (a folder) or s3 (any S3-compatible store).' },
    { key: 'Path', type: str, default: '', description: 'Folder of the filesystem blob store; empty means DataDir/blobs.' },
    { key: 'S3Endpoint', type: str, default: '', description: 'S3 endpoint URL; empty means AWS.' },
    { key: 'S3Region', type: str, default: 'us-east-1', description: 'S3 region.' },
    { key: 'S3Bucket', type: str, default: '', description: 'S3 bucket (required when Kind is s3).' },
    { key: 'S3Prefix', type: str, default: '', description: 'Key prefix inside the bucket.' },
    { key: 'S3AccessKeyID', type: str, default: '', env: 'H2O_CLOUD_STORAGE_S3_ACCESS_KEY_ID', description: 'S3 access key; empty means the AWS default credential chain.' },
    { key: 'S3SecretAccessKey', type: str, default: '', env: 'H2O_CLOUD_STORAGE_S3_SECRET_ACCESS_KEY', description: 'S3 secret key.' },
    { key: 'S3ForcePathStyle', type: bool, default: true, description: 'Use path-style S3 URLs (needed by most S3-compatible servers).' },
    { key: 'S3CreateBucket', type: bool, default: false, description: 'Create the bucket at start-up when it does not exist.' },
  ]),
  ...section('Bundle', 'H2O_CLOUD_BUNDLE_', [
    { key: 'MaxEntries', type: { kind: 'int', min: 1 }, default: 10_000, description: 'Most files a bundle may contain.' },
    { key: 'MaxUncompressedSize', type: { kind: 'bytes' }, default: '4Gi', description: 'Largest total decompressed size of a bundle.' },
    { key: 'MaxCompressionRatio', type: { kind: 'int', min: 1 }, default: 200, description: 'Largest compression ratio of any one entry (zip-bomb guard).' },
    { key: 'MaxAssetSize', type: { kind: 'bytes' }, default: '5Mi', description: 'Largest app.toml, icon, screenshot or long description.' },
  ]),
  ...section('Auth', 'H2O_CLOUD_AUTH_', [
    { key: 'Mode', type: { kind: 'enum', values: ['local', 'static', 'oidc'] }, default: 'local', description: 'local: requests without credentials act as the local admin (development only, loopback only); static: only the configured static tokens (tests); oidc: sign-in through an OpenID Connect provider (IssuerURL, ClientID).' },
    { key: 'LocalUser', type: str, default: 'local-admin', description: 'Name of the local user in local mode.' },
    { key: 'ForceLocalOnPublicAddress', type: bool, default: false, description: 'Allow local mode on a non-loopback listen address (dangerous: anyone who reaches the port is admin).' },
    { key: 'PublicAccess', type: bool, default: true, description: 'Allow anonymous users to see PUBLIC apps and open PUBLIC instances.' },
    { key: 'AdminRole', type: str, default: 'admin', description: 'Role that makes a user an admin.' },
    { key: 'FullAccessRole', type: str, default: 'full-access', description: 'Role that gives full access; signed-in users with neither role are visitors.' },
    { key: 'IssuerURL', type: { kind: 'url' }, default: '', env: 'H2O_CLOUD_AUTH_ISSUER_URL', description: 'OpenID Connect issuer URL (its discovery document is <IssuerURL>/.well-known/openid-configuration); required when Mode is oidc.' },
    { key: 'ClientID', type: str, default: '', env: 'H2O_CLOUD_AUTH_CLIENT_ID', description: 'OIDC client id of the app store server; required when Mode is oidc.' },
    { key: 'CLIClientID', type: str, default: '', description: 'OIDC client id of the h2o CLI (a public client, device grant); ID tokens issued to it are accepted as bearer tokens too. Empty: only ClientID\'s.' },
    { key: 'ClientSecret', type: str, default: '', env: 'H2O_CLOUD_AUTH_CLIENT_SECRET', description: 'OIDC client secret (confidential client); empty for a public client.' },
    { key: 'RolesClaim', type: str, default: 'roles', description: 'ID-token claim holding the user\'s roles; a dotted path reads nested claims (Keycloak: realm_access.roles). A missing claim means no roles (a visitor).' },
    { key: 'Scopes', type: { kind: 'list' }, default: ['openid', 'profile', 'email'], description: 'Scopes requested at sign-in (openid is always added); add the provider\'s roles scope if it has one.' },
    { key: 'SessionTTL', type: { kind: 'duration' }, default: '12h', env: 'H2O_CLOUD_AUTH_SESSION_TTL', description: 'How long a browser session lasts after sign-in, extended by this much whenever the provider tokens are refreshed (e.g. 30m, 12h, 7d).' },
    { key: 'CookieName', type: str, default: 'appstore_session', description: 'Name of the browser session cookie (host-only on the main host, never shared with instance hosts). Derived cookies: <name>_login (sign-in in progress), <name>_handoff and <name>_instance (the DOMAIN-mode session hand-off to an instance host, docs/router.md). Every cookie whose name starts with it is removed before a request reaches an app, and apps cannot set such cookies.' },
  ]),
  ...section('Scheduler', 'H2O_CLOUD_SCHEDULER_', [
    { key: 'KubeConfig', type: str, default: '', description: 'Path to a Kubernetes configuration file; empty means in-cluster access.' },
    { key: 'Namespace', type: str, default: 'default', description: 'Kubernetes namespace to schedule apps within.' },
    { key: 'HelmAssetDir', type: str, default: 'var/lib/h2oq8s/helm', description: 'Obsolete (instances are AppInstance resources, not Helm releases); accepted and ignored.', deprecated: 'HelmAssetDir is obsolete: instances are AppInstance resources reconciled by the operator; remove it.' },
    { key: 'ServiceType', type: { kind: 'enum', values: ['ClusterIP', 'NodePort', 'LoadBalancer'] }, default: 'ClusterIP', description: 'Kubernetes service type to create for instances.' },
    { key: 'StorageClass', type: str, default: '', description: 'StorageClass of the PersistentVolumeClaims of apps that need storage; empty means the cluster default.' },
    { key: 'WriteTimeoutSeconds', type: { kind: 'int', min: 1 }, default: 300, description: 'Timeout for running, terminating and updating instances.' },
    { key: 'ResourcePath', type: str, default: '/resources', description: 'Path in app containers where the ResourceVolumeSize volume is mounted.' },
    { key: 'InstanceLimit', type: { kind: 'int', min: 0 }, default: 10, description: 'Most instances a full-access user may have running.' },
    { key: 'VisitorInstanceLimit', type: { kind: 'int', min: 0 }, default: 5, description: 'Most instances a user without full access may have running.' },
    { key: 'AppVersionLimit', type: { kind: 'int', min: 0 }, default: 10, description: 'Most apps (name+version pairs) a full-access user may import.' },
    { key: 'AppServiceAccount', type: str, default: '', description: 'Kubernetes ServiceAccount used by app pods; empty means none mounted.' },
    { key: 'AllowedGPUTypes', type: { kind: 'list' }, default: [], description: 'Allowed GPU types (values of the hac.h2o.ai/accelerator node label); empty disables GPUs.' },
  ]),
  ...section('Router', 'H2O_CLOUD_ROUTER_', [
    { key: 'RoutingMode', type: { kind: 'enum', values: ['BASE_URL', 'DOMAIN'] }, default: 'BASE_URL', description: 'How users reach instances: BASE_URL — https://<MainHost>/instance/<name>/ (works with no DNS set-up, but apps share the app store\'s origin); DOMAIN — https://<name>.<AppsDomain>/ (each app on its own origin; needs a wildcard DNS name and certificate). Requests in the other form are redirected.' },
    { key: 'MainHost', type: str, default: '', description: 'Host (and :port) of the app store itself; empty means the host of Server.PublicURL, else localhost:<port of Server.Listen>. Requests for other hosts that are not instances are refused.' },
    { key: 'AppsDomain', type: str, default: '', description: 'Wildcard domain of instances in DOMAIN mode, host[:port] without the "*." (instance x is served at x.<AppsDomain>); e.g. apps.example.com, or apps.localhost:8080 for local use. Empty means apps.<MainHost>.' },
    { key: 'TrustForwardedHeaders', type: bool, default: false, description: 'Believe X-Forwarded-For/-Proto/-Host sent by the client (set only when a trusted ingress or load balancer in front of the app store sets them); otherwise they are replaced.' },
    { key: 'MaxHeaderSize', type: { kind: 'bytes' }, default: '16Ki', description: 'Largest request header block accepted (all headers together); larger requests get 431.' },
    { key: 'MaxBodySize', type: { kind: 'bytes' }, default: '100Mi', description: 'Largest request body proxied to an instance; larger uploads get 413.' },
    { key: 'UpstreamConnectTimeout', type: { kind: 'duration' }, default: '5s', description: 'How long to wait for a connection to an instance before answering 504.' },
    { key: 'UpstreamTimeout', type: { kind: 'duration' }, default: '2m', description: 'How long an instance may take to start answering a request (or stay silent on a plain HTTP response) before the router answers 504.' },
    { key: 'Workers', type: { kind: 'int', min: 1, max: 64 }, default: 1, description: 'Server processes sharing the listen port (node:cluster), each a whole server (API, router, operator as configured): one per core lets the router use every core, as nginx does with a worker per core. Above 1 needs Database.URL (PostgreSQL) and a configured cluster (not the local one).' },
    { key: 'ActivityFlushInterval', type: { kind: 'duration' }, default: '60s', description: 'At most one write of status.lastActivityTime per instance per this interval (activity is kept in memory in between).' },
  ]),
  ...section('Scheduler.DefaultRuntimeLimit', 'H2O_CLOUD_SCHEDULER_DEFAULT_RUNTIME_LIMIT_', [
    { key: 'MemoryLimit', type: quantity, default: '2Gi', description: 'Memory limit of apps that do not set one.' },
    { key: 'MemoryReservation', type: quantity, default: '512Mi', description: 'Memory reservation of apps that do not set one.' },
    { key: 'CPULimit', type: quantity, default: '', description: 'CPU limit of apps that do not set one; empty means none.' },
    { key: 'CPUReservation', type: quantity, default: '', description: 'CPU reservation of apps that do not set one; empty means none.' },
    { key: 'GPUType', type: str, default: '', description: 'GPU type assigned by default; empty means any.' },
  ]),
];
