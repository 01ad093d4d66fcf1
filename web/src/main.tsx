/** The Appstore web UI: the shell (header, navigation, sign-in state) and the routes. */
import { render } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { api, getMe, type Me } from './api.ts';
import { AuthContext, signInHref, type AuthLinks } from './auth.tsx';
import { ErrorBox, usePoll } from './components.tsx';
import { AdminPage } from './pages/admin.tsx';
import { AppPage } from './pages/app.tsx';
import { Catalog } from './pages/catalog.tsx';
import { InstancePage } from './pages/instance.tsx';
import { InstancesPage } from './pages/instances.tsx';
import { MyAppsPage } from './pages/my-apps.tsx';
import { Link, usePath } from './router.tsx';
import './style.css';

const NO_LINKS: AuthLinks = {};
const ANONYMOUS: Me = { signedIn: false, roles: [], admin: false, fullAccess: false, visitor: false };

function UserBox(props: { me: Me; links: AuthLinks }) {
  const me = props.me;
  if (!me.signedIn) {
    const href = signInHref(props.links);
    if (!href) return <span class="user muted">Not signed in</span>;
    return (
      <a class="button" href={href}>
        Sign in
      </a>
    );
  }
  return (
    <div class="user">
      <span data-testid="user-name">
        {me.name ?? me.subject}
        {me.admin ? ' (admin)' : me.visitor ? ' (visitor)' : ''}
      </span>
      {/* Sign-out is a POST (not a link a page could trigger); the server clears the session cookie. */}
      {props.links.signOutURL && (
        <form method="post" action={props.links.signOutURL}>
          <button type="submit">Sign out</button>
        </form>
      )}
    </div>
  );
}

function route(path: string, me: Me) {
  const app = /^\/apps\/([^/]+)\/?$/.exec(path);
  if (app?.[1]) return { title: 'App', page: <AppPage id={decodeURIComponent(app[1])} me={me} /> };
  const instance = /^\/instances\/([^/]+)\/?$/.exec(path);
  if (instance?.[1]) return { title: 'Instance', page: <InstancePage id={decodeURIComponent(instance[1])} me={me} /> };
  switch (path.replace(/\/+$/, '') || '/') {
    case '/':
      return { title: 'Apps', page: <Catalog /> };
    case '/instances':
      return { title: 'My instances', page: <InstancesPage me={me} /> };
    case '/my-apps':
      return { title: 'My apps', page: <MyAppsPage me={me} /> };
    case '/admin':
      return { title: 'Administration', page: <AdminPage me={me} /> };
    default:
      return {
        title: 'Not found',
        page: (
          <>
            <h1>Page not found</h1>
            <p>
              <Link href="/">Back to the apps</Link>
            </p>
          </>
        ),
      };
  }
}

function Shell() {
  const path = usePath();
  const who = usePoll(getMe, 60_000);
  const me = who.data ?? ANONYMOUS;
  // Which sign-in this server has (OIDC: /auth/login and /auth/logout; static tokens and local mode: none).
  const links = usePoll(() => api<AuthLinks>('/api/v1/auth/config'), 0).data ?? NO_LINKS;
  const main = useRef<HTMLElement>(null);
  const { title, page } = route(path, me);
  // A new page gets its title and moves focus to the content, as a page load would for screen readers.
  const first = useRef(true);
  useEffect(() => {
    document.title = `${title} · Appstore`;
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [path]);
  const nav: Array<[string, string, boolean]> = [
    ['/', 'Apps', true],
    ['/instances', 'My instances', me.signedIn],
    ['/my-apps', 'My apps', me.signedIn && me.fullAccess],
    ['/admin', 'Admin', me.admin],
  ];
  return (
    <AuthContext.Provider value={links}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          Appstore
        </Link>
        <nav aria-label="Main">
          <ul>
            {nav
              .filter(([, , shown]) => shown)
              .map(([href, label]) => (
                <li key={href}>
                  <Link href={href} aria-current={path === href ? 'page' : undefined}>
                    {label}
                  </Link>
                </li>
              ))}
          </ul>
        </nav>
        {who.data || who.error ? <UserBox me={me} links={links} /> : null}
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {who.error ? <ErrorBox error={who.error} title="Could not tell who you are" /> : null}
        {who.data ? page : <p role="status">Loading…</p>}
      </main>
    </AuthContext.Provider>
  );
}

render(<Shell />, document.getElementById('root')!);
