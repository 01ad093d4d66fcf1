/**
 * Where sign-in and sign-out live, as GET /api/v1/auth/config says: only an
 * OIDC server has them (a static-token or local server has no sign-in page).
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export interface AuthLinks {
  mode?: 'local' | 'static' | 'oidc';
  signInURL?: string;
  signOutURL?: string;
}

/** Until the config has loaded: no links (a wrong link is worse than none for a moment). */
export const AuthContext = createContext<AuthLinks>({});

export const useAuthLinks = (): AuthLinks => useContext(AuthContext);

/** The sign-in URL that comes back to `back` (default: the current page), or undefined where there is none. */
export function signInHref(links: AuthLinks, back = location.pathname + location.search): string | undefined {
  return links.signInURL ? `${links.signInURL}?return=${encodeURIComponent(back)}` : undefined;
}

/** "Sign in to …": a link where the server has a sign-in page, else the words. */
export function SignInPrompt(props: { to: string }) {
  const href = signInHref(useAuthLinks());
  return <p>{href ? <><a href={href}>Sign in</a> to {props.to}.</> : <>You are not signed in; sign in to {props.to}.</>}</p>;
}
