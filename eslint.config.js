// Lint: typescript-eslint's recommended rules plus the architecture's import
// directions (../shared/ARCHITECTURE.md, "Allowed imports") and the rule that
// only main.ts files read process.env and argv.
import tseslint from 'typescript-eslint';

const components = ['lib', 'config', 'k8s', 'repository', 'storage', 'auth', 'bundle', 'operator', 'api', 'router', 'launcher', 'cli'];

/** Which src/ components each component may import (besides itself). */
const allowed = {
  lib: [],
  config: ['lib'],
  k8s: ['lib', 'config'],
  repository: ['lib', 'config'],
  storage: ['lib', 'config'],
  auth: ['lib', 'config'],
  bundle: ['lib', 'config'],
  operator: ['lib', 'config', 'k8s', 'bundle', 'auth'],
  api: ['lib', 'config', 'k8s', 'repository', 'storage', 'auth', 'bundle', 'operator'],
  router: ['lib', 'config', 'k8s', 'auth', 'operator'],
  launcher: ['lib', 'config', 'bundle'],
  // The CLI talks to the server over HTTP only; it may share schema types (api/schemas) and bundle code.
  cli: ['lib', 'config', 'bundle', 'launcher', 'api/schemas'],
};

function restrictionsFor(component) {
  const ok = allowed[component];
  // The CLI's one allowed piece of src/api (its schema types) is handled below.
  const forbidden = components.filter((c) => c !== component && !ok.includes(c) && !(component === 'cli' && c === 'api'));
  const patterns = forbidden.map((c) => ({
    group: [`../${c}`, `../${c}/*`, `../../${c}`, `../../${c}/*`, `**/src/${c}/*`],
    message: `src/${component} may not import src/${c} (see ARCHITECTURE.md, "Allowed imports").`,
  }));
  if (component === 'cli') {
    patterns.push({
      group: ['../api/*', '../../api/*', '!../api/schemas.ts', '!../../api/schemas.ts'],
      message: 'src/cli talks to the server over HTTP; it may import only src/api/schemas.ts.',
    });
  }
  return patterns;
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'web/dist/**', 'data/**', '.appstore/**', '.scratch*/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...components.map((c) => ({
    files: [`src/${c}/**/*.ts`],
    ignores: [`src/${c}/**/*.test.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: restrictionsFor(c) }] },
  })),
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/main.ts', 'src/**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Only main.ts files read process.env; pass configuration in.' },
        { object: 'process', property: 'argv', message: 'Only main.ts files read process.argv; pass arguments in.' },
      ],
    },
  },
);
