import type { Page } from 'playwright-core';
/**
 * A race in waved 1.8.16 that loses a browser's first page: the watch handler
 * asks the broker to subscribe the new client and forwards the boot to the app
 * at once; when the app's answer (a page for `/<client>`) reaches the broker
 * before the subscription does, the page goes to nobody and the browser shows
 * "Loading ..." until reloaded. waved's log shows it: the `* /<client>` publish
 * line before the `ui_add` line for `/<client>`.
 */

/** True when waved's log lines show `client`'s page published before its route was subscribed. */
export function wavedLostFirstPage(logs: string, client: string): boolean {
  const lines = logs.split('\n');
  const published = lines.findIndex((l) => l.includes(`* /${client} `));
  const subscribed = lines.findIndex((l) => l.includes(`"route":"/${client}","t":"ui_add"`));
  return published >= 0 && subscribed > published;
}

/** Records the client ids waved gives the page's websockets (its `{"i":…}` frame); register before navigating. */
export function waveClients(page: Page): string[] {
  const ids: string[] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      const id = /^\{"i":"([0-9a-f-]+)"\}/.exec(String(f.payload))?.[1];
      if (id) ids.push(id);
    }),
  );
  return ids;
}

/**
 * Waits for `text` on a Wave page. If it does not come within `firstMs` and the
 * instance's logs show the race above for the page's client, reloads once (as a
 * user would) and waits again; otherwise fails with `explain`'s error.
 */
export async function waitForWaveText(page: Page, text: string, opts: { clients: string[]; logs: () => Promise<string>; explain: (err: unknown) => Promise<Error>; firstMs?: number; againMs?: number }): Promise<void> {
  try {
    await page.getByText(text).first().waitFor({ timeout: opts.firstMs ?? 20_000 });
  } catch (err) {
    const client = opts.clients[opts.clients.length - 1];
    if (!client || !wavedLostFirstPage(await opts.logs(), client)) throw await opts.explain(err);
    console.log(`# waved published /${client} before subscribing it (its broker's race): reloading once`);
    await page.reload();
    await page.getByText(text).first().waitFor({ timeout: opts.againMs ?? 60_000 }).catch(async (e: unknown) => {
      throw await opts.explain(e);
    });
  }
}
