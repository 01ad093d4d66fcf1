/**
 * Markdown from bundles, rendered safely: marked turns it into HTML and
 * DOMPurify removes script, event handlers, javascript: URLs, forms and
 * frames before it reaches the DOM (and the page's CSP blocks inline script
 * besides). Loaded only by the app page (its own chunk), so the catalog
 * does not wait for the parser and sanitizer.
 */
import DOMPurify from 'dompurify';
import { marked } from 'marked';

/** Sanitized HTML of `md`, headings below the page's own. Links open in a new tab without access to this page. */
export function renderMarkdown(md: string): string {
  const html = marked.parse(md, { async: false, gfm: true });
  const clean = DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
    FORBID_ATTR: ['style'],
  });
  const t = document.createElement('template');
  t.innerHTML = clean;
  // The page has its own h1 and h2 sections: the bundle's headings go two levels down.
  for (const h of t.content.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Math.min(6, Number(h.tagName[1]) + 2);
    const n = document.createElement(`h${level}`);
    n.append(...h.childNodes);
    h.replaceWith(n);
  }
  // An image the author left without alt text is taken as decoration rather than read out as its file name.
  for (const img of t.content.querySelectorAll('img:not([alt])')) img.setAttribute('alt', '');
  for (const a of t.content.querySelectorAll('a[href]')) {
    a.setAttribute('rel', 'noopener noreferrer nofollow');
    a.setAttribute('target', '_blank');
  }
  return t.innerHTML;
}
