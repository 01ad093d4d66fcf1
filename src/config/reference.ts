/** Renders docs/configuration.md from the option table, so the reference cannot drift from the code. */
import { OPTIONS } from './options.ts';

export function configurationReference(): string {
  const sections = [...new Set(OPTIONS.map((o) => o.section))];
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/options.ts by `make docs-config`; a test fails when it is stale. -->',
    '',
    'The server reads one TOML file (`appstore server --config FILE`, or `H2O_CLOUD_CONFIG`),',
    'then environment variables, then `--set Section.Key=value` flags; later sources win.',
    'Lists in environment variables are comma-separated. Sizes and resources use the',
    'Kubernetes quantity format (`512Mi`, `2Gi`, `500m`). An unknown key, a wrong type or an',
    'inconsistent pair stops start-up with one message that lists every problem by key.',
    '',
  ];
  for (const s of sections) {
    out.push(`## [${s}]`, '', '| key | environment variable | default | description |', '|---|---|---|---|');
    for (const o of OPTIONS.filter((x) => x.section === s)) {
      const def = Array.isArray(o.default) ? (o.default.length ? o.default.join(', ') : '(empty)') : o.default === '' ? '(empty)' : String(o.default);
      out.push(`| \`${o.key}\` | \`${o.env}\` | \`${def}\` | ${o.description}${o.deprecated ? ' **Deprecated.**' : ''} |`);
    }
    out.push('');
  }
  out.push(
    '## [[RuntimeVersion]]',
    '',
    'Runtime images instances can run in (the seed format, still accepted). Each table has',
    '`Name` (lowercase DNS name, unique), `Image` (container image), `Default` (at most one),',
    '`Deprecated` (new instances cannot use it; the default cannot be deprecated).',
    '',
    '```toml',
    '[[RuntimeVersion]]',
    "Name = 'deb12-py311'",
    'Image = "registry.example.com/wave-launcher:1.0"',
    'Default = true',
    'Deprecated = false',
    '```',
    '',
    '## [[Auth.StaticToken]]',
    '',
    'Fixed bearer tokens for tests and scripted local use: `Token` (16+ characters), `Subject`,',
    '`Name`, `Roles`. Not for production: use OIDC sign-in there.',
    '',
  );
  return out.join('\n');
}
