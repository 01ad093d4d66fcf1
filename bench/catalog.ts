/**
 * Keyset pagination of the app catalog: with 100k app versions, page 2000
 * (50 per page, reached by following nextCursor) against page 1, for each
 * kind of viewer, on PGlite and on a throwaway PostgreSQL.
 * Target: deep page ≤ 1.2 × page 1 (admin, who sees all 100k rows).
 * Timings interleave page 1 and the deep page so machine load hits both alike.
 *
 * The last line carries the worst admin ratio over the engines and the worst
 * p99 latency of the deep page:
 *   BENCH catalog deep_page_ratio=… p99_ms=…
 *
 *   make bench-catalog
 *   node --import tsx bench/catalog.ts [pglite|postgres|both] [rows]
 */
import { sql } from 'drizzle-orm';
import type { Principal, Viewer } from '../src/lib/principal.ts';
import { AppRepository } from '../src/repository/apps.ts';
import type { AppListQuery } from '../src/repository/apps.ts';
import { openDatabase } from '../src/repository/db.ts';
import type { Database } from '../src/repository/db.ts';
import { startPostgres } from '../test/support/postgres.ts';

const engines = (process.argv[2] ?? 'both') === 'both' ? ['pglite', 'postgres'] : [process.argv[2] as string];
const rows = Number(process.argv[3] ?? 100_000);
const PAGE = 50;
const DEEP_PAGE = 2000;
const TARGET = 1.2;

function who(subject: string, kind: 'admin' | 'full' | 'visitor', roles: string[] = []): Principal {
  return { subject, name: subject, roles, admin: kind === 'admin', fullAccess: kind !== 'visitor' };
}
const viewers: [string, Viewer][] = [
  ['admin', who('root', 'admin')],
  ['full access', who('user1', 'full')],
  ['visitor', who('guest', 'visitor', ['partner'])],
  ['anonymous', null],
];

/** 100k versions: 5000 names × 20 versions, 100 owners, visibilities mixed, every 7th tagged for visitors; 3 rows per second. */
async function load(d: Database): Promise<void> {
  await d.db.execute(sql`truncate app_tags, apps, tags`);
  await d.db.execute(sql`insert into tags (name, title, color, visitor_roles) values ('partners', 'Partners', '#336699', array['partner'])`);
  await d.db.execute(sql`insert into apps (name, version, title, description, category, keywords, owner, owner_name, visibility,
      manifest, format, bundle_key, bundle_sha256, bundle_size, search_text, created_at)
    select 'ai.h2o.app' || (j % 5000), '1.0.' || (j / 5000),
      'App ' || j || ' ' || (array['forecast','churn','retail','vision'])[j % 4 + 1], 'Description of app ' || j, 'Other', array['k' || (j % 10)],
      'user' || (j % 100), 'user' || (j % 100), (array['PRIVATE','ALL_USERS','PUBLIC'])[j % 3 + 1],
      '{}'::jsonb, 'wave', 'apps/x/bundle.wave', repeat('0', 64), 1000,
      'App ' || j || ' ' || (array['forecast','churn','retail','vision'])[j % 4 + 1] || chr(1) || 'Description of app ' || j || chr(1) || 'k' || (j % 10),
      timestamptz '2024-01-01' + (j / 3) * interval '1 second'
    from generate_series(0, ${rows - 1}::int) j`);
  await d.db.execute(sql`insert into app_tags (app_id, tag_id) select a.id, t.id from apps a, tags t where a.title ~ '^App [0-9]*[07] '`);
  await d.db.execute(sql`analyze`);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN;
}
const median = (xs: number[]) => quantile(xs, 0.5);

/** Worst admin figures over the engines, for the BENCH line. */
const worst = { ratio: 0, p99: 0 };

async function bench(engine: string): Promise<boolean> {
  const pg = engine === 'postgres' ? await startPostgres(() => {}) : undefined;
  const d = await openDatabase(pg ? { url: pg.env.APPSTORE_TEST_PG_URL } : {});
  let ok = true;
  try {
    const started = Date.now();
    await load(d);
    process.stdout.write(`${engine}: loaded ${rows} app versions in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const repo = new AppRepository(d);
    const policy = { publicAccess: true };
    for (const [label, viewer] of viewers) {
      // Follow nextCursor to page 2000, or to the last full page for viewers who see fewer rows.
      let cursor: string | undefined;
      let before: string | undefined;
      let page = 1;
      for (; page < DEEP_PAGE; page++) {
        const p = await repo.list({ scope: 'all', limit: PAGE, ...(cursor ? { cursor } : {}) }, viewer, policy);
        if (!p.nextCursor) break;
        before = cursor;
        cursor = p.nextCursor;
      }
      const last = await repo.list({ scope: 'all', limit: PAGE, ...(cursor ? { cursor } : {}) }, viewer, policy);
      if (last.items.length < PAGE) {
        cursor = before; // the last page is partial: measure the full one before it
        page--;
      }
      const first: AppListQuery = { scope: 'all', limit: PAGE };
      const deep: AppListQuery = { scope: 'all', limit: PAGE, ...(cursor ? { cursor } : {}) };
      const t1: number[] = [];
      const t2: number[] = [];
      for (let i = 0; i < 110; i++) {
        let t = performance.now();
        const a = await repo.list(first, viewer, policy);
        if (i >= 10) t1.push(performance.now() - t);
        t = performance.now();
        const b = await repo.list(deep, viewer, policy);
        if (i >= 10) t2.push(performance.now() - t);
        if (a.items.length !== PAGE || b.items.length !== PAGE) throw new Error(`${label}: expected full pages`);
      }
      const ratio = median(t2) / median(t1);
      const verdict = label === 'admin' ? (ratio <= TARGET ? ' (target ≤ 1.2: ok)' : ' (target ≤ 1.2: MISSED)') : '';
      if (label === 'admin' && (page !== DEEP_PAGE || ratio > TARGET)) ok = false;
      if (label === 'admin') {
        worst.ratio = Math.max(worst.ratio, ratio);
        worst.p99 = Math.max(worst.p99, quantile(t2, 0.99), quantile(t1, 0.99));
      }
      process.stdout.write(
        `${engine}: ${label.padEnd(12)} page 1 ${median(t1).toFixed(2)} ms, page ${page} ${median(t2).toFixed(2)} ms (p99 ${quantile(t2, 0.99).toFixed(2)} ms), ratio ${ratio.toFixed(2)}${verdict}\n`,
      );
    }
  } finally {
    await d.close();
    await pg?.stop();
  }
  return ok;
}

let allOk = true;
for (const e of engines) allOk = (await bench(e)) && allOk;
process.stdout.write(`BENCH catalog deep_page_ratio=${worst.ratio.toFixed(2)} p99_ms=${worst.p99.toFixed(2)}\n`);
process.exit(allOk ? 0 : 1);
