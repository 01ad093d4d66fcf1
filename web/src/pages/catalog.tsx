/** The catalog: every app the API lets this user see, with search and category/tag filters (done by the server). */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { listApps, listTags, type App } from '../api.ts';
import { AppBadges, ErrorBox, usePoll } from '../components.tsx';
import { Link } from '../router.tsx';

function AppCard(props: { app: App }) {
  const a = props.app;
  return (
    <li class="card">
      {a.iconUrl ? <img class="icon" src={a.iconUrl} alt="" width={48} height={48} loading="lazy" /> : <span class="icon icon-none" aria-hidden="true">{a.title.slice(0, 1)}</span>}
      <div class="card-body">
        <h3>
          <Link href={`/apps/${a.id}`}>{a.title}</Link>
        </h3>
        <p class="muted small">
          {a.version} · {a.ownerName}
        </p>
        <p>{a.description}</p>
        <AppBadges app={a} />
      </div>
    </li>
  );
}

/** Reads the filters from the query string so a filtered catalog can be bookmarked. */
function initialParam(name: string): string {
  return new URLSearchParams(location.search).get(name) ?? '';
}

export function Catalog() {
  const [search, setSearch] = useState(initialParam('search'));
  const [query, setQuery] = useState(search);
  const [category, setCategory] = useState(initialParam('category'));
  const [tag, setTag] = useState(initialParam('tag'));
  // Typing settles for a moment before the server is asked.
  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);
  useEffect(() => {
    const p = new URLSearchParams();
    if (query) p.set('search', query);
    if (category) p.set('category', category);
    if (tag) p.set('tag', tag);
    history.replaceState(null, '', `/${p.size ? `?${p}` : ''}`);
  }, [query, category, tag]);
  const apps = usePoll(() => listApps({ search: query, category, tag }), 0, [query, category, tag]);
  const all = usePoll(() => listApps(), 0);
  const tags = usePoll(listTags, 0);
  const categories = useMemo(() => [...new Set((all.data ?? []).map((a) => a.category).filter(Boolean))].sort(), [all.data]);
  const items = apps.data;
  return (
    <>
      <h1>Apps</h1>
      <form class="filters" role="search" onSubmit={(e) => (e.preventDefault(), setQuery(search.trim()))}>
        <div class="field">
          <label for="search">Search</label>
          <input id="search" type="search" value={search} placeholder="Title, description or keyword" onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="category">Category</label>
          <select id="category" value={category} onChange={(e) => setCategory((e.target as HTMLSelectElement).value)}>
            <option value="">All categories</option>
            {categories.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="tag">Tag</label>
          <select id="tag" value={tag} onChange={(e) => setTag((e.target as HTMLSelectElement).value)}>
            <option value="">All tags</option>
            {(tags.data ?? []).map((t) => (
              <option key={t.id} value={t.name}>
                {t.title || t.name}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorBox error={apps.error} title="Could not load apps" />
      <p class="muted" role="status" aria-live="polite">
        {items ? `${items.length} app${items.length === 1 ? '' : 's'}` : 'Loading…'}
      </p>
      {items && (
        <ul class="cards" aria-label="Apps">
          {items.map((a) => (
            <AppCard key={a.id} app={a} />
          ))}
        </ul>
      )}
    </>
  );
}
