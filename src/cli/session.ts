/**
 * Turns the global flags (--config, --profile, --endpoint) and the config file
 * into an API client, so every command resolves them the same way.
 */
import type { Command } from 'commander';
import { ApiClient } from './client.ts';
import { configPath, normalizeEndpoint, readConfig, selectProfile, writeConfig, type Profile } from './config-file.ts';
import type { CliContext } from './context.ts';
import { credentialsFor } from './credentials.ts';

/** The global flags every command accepts. */
export interface GlobalOptions {
  config?: string;
  profile?: string;
  endpoint?: string;
}

/** The global flags as seen from `cmd` (wherever on the command line they were given). */
export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** A client for the selected profile; --endpoint overrides the profile's endpoint. */
export async function openClient(ctx: CliContext, cmd: Command): Promise<ApiClient> {
  const g = globalOptions(cmd);
  const path = configPath(ctx.cwd, ctx.env, g.config);
  const config = await readConfig(path);
  let profile: Profile;
  let save: ((p: Profile) => Promise<void>) | undefined;
  const name = g.profile ?? ctx.env.H2O_PROFILE;
  if (g.endpoint && name === undefined && !config.current) {
    // An endpoint alone is enough to talk to a server anonymously.
    profile = { endpoint: g.endpoint };
  } else {
    const selected = selectProfile(config, path, name);
    profile = { ...selected.profile };
    // A renewed sign-in goes back into the file (re-read, so a concurrent change to other profiles is kept).
    save = async (p) => {
      const latest = await readConfig(path);
      const stored = latest.profiles[selected.name];
      if (!stored || !p.signIn) return;
      latest.profiles[selected.name] = { ...stored, signIn: p.signIn };
      await writeConfig(path, latest);
    };
  }
  if (g.endpoint) profile.endpoint = g.endpoint;
  return new ApiClient(normalizeEndpoint(profile.endpoint, g.endpoint ? '--endpoint' : 'endpoint'), credentialsFor(profile, save));
}
