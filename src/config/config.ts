/** The server's configuration after loading (see options.ts for every option's meaning). */
export interface RuntimeVersionConfig {
  name: string;
  image: string;
  default: boolean;
  deprecated: boolean;
}

export interface Config {
  server: {
    listen: { host: string; port: number };
    publicURL: string;
    dataDir: string;
    roles: Array<'api' | 'web' | 'router' | 'operator'>;
    logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
    maxUploadSize: number;
  };
  database: { url: string };
  storage: {
    kind: 'fs' | 's3';
    path: string;
    s3Endpoint: string;
    s3Region: string;
    s3Bucket: string;
    s3Prefix: string;
    s3AccessKeyID: string;
    s3SecretAccessKey: string;
    s3ForcePathStyle: boolean;
    s3CreateBucket: boolean;
  };
  bundle: { maxEntries: number; maxUncompressedSize: number; maxCompressionRatio: number; maxAssetSize: number };
  auth: {
    mode: 'local' | 'static' | 'oidc';
    localUser: string;
    forceLocalOnPublicAddress: boolean;
    publicAccess: boolean;
    adminRole: string;
    fullAccessRole: string;
    /** OIDC provider (Mode = oidc). */
    issuerURL: string;
    clientID: string;
    /** OIDC client id of the CLI, whose ID tokens are accepted as bearer tokens too. */
    cliClientID: string;
    clientSecret: string;
    /** Claim (dotted path) holding the roles. */
    rolesClaim: string;
    scopes: string[];
    /** Browser session lifetime in seconds. */
    sessionTTL: number;
    cookieName: string;
    /** Static bearer tokens, `[[Auth.StaticToken]]`: for tests and scripted local use only. */
    staticTokens: Array<{ token: string; subject: string; name: string; roles: string[] }>;
  };
  scheduler: {
    kubeConfig: string;
    namespace: string;
    helmAssetDir: string;
    serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
    storageClass: string;
    writeTimeoutSeconds: number;
    resourcePath: string;
    instanceLimit: number;
    visitorInstanceLimit: number;
    appVersionLimit: number;
    appServiceAccount: string;
    allowedGPUTypes: string[];
    defaultRuntimeLimit: { memoryLimit: string; memoryReservation: string; cpuLimit: string; cpuReservation: string; gpuType: string };
  };
  router: {
    routingMode: 'BASE_URL' | 'DOMAIN';
    /** host[:port] of the app store; '' = from Server.PublicURL or Server.Listen. */
    mainHost: string;
    /** host[:port] under which instance x is x.<appsDomain>; '' = apps.<main host>. */
    appsDomain: string;
    trustForwardedHeaders: boolean;
    maxHeaderSize: number;
    maxBodySize: number;
    /** Seconds. */
    upstreamConnectTimeout: number;
    /** Seconds. */
    upstreamTimeout: number;
    /** Seconds. */
    activityFlushInterval: number;
    /** Server processes sharing the listen port (node:cluster); 1 = this process only. */
    workers: number;
  };
  runtimeVersions: RuntimeVersionConfig[];
}
