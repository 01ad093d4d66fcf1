/** Admin: tags (create, edit colour and roles, delete), runtime versions, every instance and every app. */
import { useState } from 'preact/hooks';
import { api, listApps, listInstances, listTags, VISIBILITY_LABELS, type Me, type RuntimeVersion, type Tag } from '../api.ts';
import { ConfirmButton, DataTable, ErrorBox, Section, TagBadge, usePoll } from '../components.tsx';
import { InstanceTable } from '../instances.tsx';
import { Link } from '../router.tsx';
import { POLL_MS } from './instances.tsx';

const roles = (s: string) =>
  s
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);

/** The create/edit form of a tag; `tag` absent means a new one. */
function TagForm(props: { tag?: Tag; onDone: () => void; onCancel?: () => void }) {
  const t = props.tag;
  const p = t ? `tag-${t.name}` : 'new-tag';
  const [name, setName] = useState('');
  const [title, setTitle] = useState(t?.title ?? '');
  const [color, setColor] = useState(t?.color ?? '#1f6feb');
  const [description, setDescription] = useState(t?.description ?? '');
  const [adminRoles, setAdminRoles] = useState((t?.adminRoles ?? []).join(', '));
  const [visitorRoles, setVisitorRoles] = useState((t?.visitorRoles ?? []).join(', '));
  const [isCategory, setIsCategory] = useState(t?.isCategory ?? false);
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const body = { title: title || (t ? t.name : name), color, description, adminRoles: roles(adminRoles), visitorRoles: roles(visitorRoles), isCategory };
    try {
      if (t) await api(`/api/v1/tags/${t.id}`, { method: 'PATCH', body });
      else await api('/api/v1/tags', { method: 'POST', body: { name, ...body } });
      if (!t) setName('');
      props.onDone();
    } catch (err) {
      setError(err);
    }
  };
  const input = (id: string, label: string, value: string, set: (v: string) => void, extra: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={`${p}-${id}`}>{label}</label>
      <input id={`${p}-${id}`} value={value} onInput={(e) => set((e.target as HTMLInputElement).value)} {...extra} />
    </div>
  );
  return (
    <form class="tag-form" onSubmit={submit} aria-label={t ? `Edit tag ${t.name}` : 'New tag'}>
      {!t && input('name', 'Name', name, setName, { required: true, pattern: '[a-z0-9]([a-z0-9_.\\-]*[a-z0-9])?', title: 'lowercase letters, digits, - _ and .' })}
      {input('title', 'Title', title, setTitle)}
      {input('color', 'Colour', color, setColor, { type: 'color' })}
      {input('description', 'Description', description, setDescription)}
      {input('admin-roles', 'Admin roles (comma-separated)', adminRoles, setAdminRoles)}
      {input('visitor-roles', 'Visitor roles (comma-separated)', visitorRoles, setVisitorRoles)}
      <label class="check">
        <input type="checkbox" checked={isCategory} onChange={(e) => setIsCategory((e.target as HTMLInputElement).checked)} /> Is a category
      </label>
      <div class="actions">
        <button type="submit" class="primary">
          {t ? 'Save' : 'Create tag'}
        </button>
        {props.onCancel && (
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
      <ErrorBox error={error} title={t ? 'Could not save the tag' : 'Could not create the tag'} />
    </form>
  );
}

function Tags() {
  const tags = usePoll(listTags, 0);
  const [editing, setEditing] = useState<string>();
  const [error, setError] = useState<unknown>();
  return (
    <Section title="Tags">
      <ErrorBox error={tags.error ?? error} />
      <DataTable caption="Tags" columns={['Tag', 'Name', 'Admin roles', 'Visitor roles', 'Category', 'Actions']}>
        {(tags.data ?? []).map((t) =>
          editing === t.id ? (
            <tr key={t.id} data-tag={t.name}>
              <td colSpan={6}>
                <TagForm
                  tag={t}
                  onDone={() => {
                    setEditing(undefined);
                    tags.reload();
                  }}
                  onCancel={() => setEditing(undefined)}
                />
              </td>
            </tr>
          ) : (
            <tr key={t.id} data-tag={t.name}>
              <td>
                <TagBadge tag={t} />
              </td>
              <th scope="row">
                <code>{t.name}</code>
              </th>
              <td>{t.adminRoles.join(', ') || <span class="muted">any full-access user</span>}</td>
              <td>{t.visitorRoles.join(', ') || <span class="muted">none</span>}</td>
              <td>{t.isCategory ? 'yes' : 'no'}</td>
              <td class="actions">
                <button type="button" aria-label={`Edit tag ${t.name}`} onClick={() => setEditing(t.id)}>
                  Edit
                </button>
                <ConfirmButton
                  label="Delete"
                  name={`Delete tag ${t.name}`}
                  question={`Delete tag ${t.name}? It is removed from every app.`}
                  confirmLabel="Delete tag"
                  onConfirm={() => api(`/api/v1/tags/${t.id}`, { method: 'DELETE' }).then(tags.reload, setError)}
                />
              </td>
            </tr>
          ),
        )}
      </DataTable>
      <h3>New tag</h3>
      <TagForm onDone={tags.reload} />
    </Section>
  );
}

function RuntimeVersions() {
  const rv = usePoll(() => api<{ items: RuntimeVersion[] }>('/api/v1/runtime-versions').then((r) => r.items), 0);
  return (
    <Section title="Runtime versions">
      <ErrorBox error={rv.error} title="Could not load runtime versions" />
      {rv.data && (
        <DataTable caption="Runtime versions" columns={['Name', 'Image', 'Default', 'Deprecated', 'Instances']}>
          {rv.data.map((r) => (
            <tr key={r.name}>
              <th scope="row">{r.name}</th>
              <td>
                <code>{r.image}</code>
              </td>
              <td>{r.default ? 'yes' : ''}</td>
              <td>{r.deprecated ? 'deprecated' : ''}</td>
              <td>{r.instances}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </Section>
  );
}

export function AdminPage(props: { me: Me }) {
  const instances = usePoll(() => listInstances({ all: true }), props.me.admin ? POLL_MS : 0);
  const apps = usePoll(() => listApps(), 0);
  if (!props.me.admin) {
    return (
      <>
        <h1>Administration</h1>
        <p>Only administrators can see this page.</p>
      </>
    );
  }
  return (
    <>
      <h1>Administration</h1>
      <Tags />
      <RuntimeVersions />
      <Section title="All instances">
        <ErrorBox error={instances.error} title="Could not load instances" />
        {instances.data && <InstanceTable instances={instances.data} me={props.me} onChanged={instances.reload} showOwner caption="All instances" />}
      </Section>
      <Section title="All apps">
        <ErrorBox error={apps.error} />
        {apps.data && (
          <DataTable caption="All apps" columns={['App', 'Version', 'Owner', 'Visibility']}>
            {apps.data.map((a) => (
              <tr key={a.id}>
                <th scope="row">
                  <Link href={`/apps/${a.id}`}>{a.title}</Link>
                </th>
                <td>{a.version}</td>
                <td>{a.ownerName}</td>
                <td>{VISIBILITY_LABELS[a.visibility]}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Section>
    </>
  );
}
