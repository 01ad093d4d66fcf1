/**
 * Entry of the launcher process (bin/launcher.mjs): reads the pod's
 * environment, runs the launcher and exits with its code. SIGTERM/SIGINT stop
 * waved and the app, then exit 0.
 */
import { isAppError } from '../lib/errors.ts';
import { runLauncher } from './launcher.ts';
import { launcherSettingsFromEnv } from './settings.ts';

const controller = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => controller.abort());
try {
  const settings = launcherSettingsFromEnv(process.env);
  const code = await runLauncher(settings, { out: process.stdout, signal: controller.signal });
  process.exit(code);
} catch (err) {
  process.stdout.write(`[launcher] ${isAppError(err) ? err.message : (err as Error).stack ?? String(err)}\n`.replace(/\n(?!$)/g, '\n[launcher] '));
  process.exit(isAppError(err) ? 2 : 1);
}
