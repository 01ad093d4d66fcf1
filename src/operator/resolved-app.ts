/**
 * The narrow port through which the operator resolves an AppInstance's app
 * reference. The repository implements it in the server process; operator
 * tests use a small in-memory catalog. Only what the desired children need
 * crosses this boundary.
 */
import type { EnvSpec, FileSpec, RuntimeSection } from '../bundle/manifest.ts';

/** One app version as the operator needs it to run an instance. */
export interface ResolvedApp {
  /** App version id (UUID). */
  id: string;
  /** Machine name from app.toml (`ai.h2o.wave.my-app`). */
  name: string;
  /** Semantic version from app.toml. */
  version: string;
  title: string;
  /** Python module the launcher starts (`python -m <module>`). */
  module: string;
  /** Bundle digest as `sha256:<hex>`. */
  bundleDigest: string;
  /** The parsed manifest's [Runtime] section. */
  runtime: RuntimeSection;
  /** The manifest's [[Env]] entries. */
  env: EnvSpec[];
  /** The manifest's [[File]] entries. */
  files: FileSpec[];
  /** Runtime version the app asks for in app.toml (Runtime.RuntimeVersion), if any. */
  runtimeVersion?: string;
}

/** Resolves app references; both methods return undefined when no such app version exists. */
export interface CatalogPort {
  /** The app version with this id. */
  resolveById(id: string): Promise<ResolvedApp | undefined>;
  /** The app version with this machine name and version. */
  resolveByNameVersion(name: string, version: string): Promise<ResolvedApp | undefined>;
}
