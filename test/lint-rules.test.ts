/**
 * The architecture's import directions and the process.env rule are enforced
 * by eslint.config.js; these cases prove the rules fire (and do not fire on
 * allowed imports), so a broken config cannot pass silently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { repoRoot } from './support/go-tool.ts';

const eslint = new ESLint({ cwd: repoRoot });

async function messages(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

const cases: Array<[string, string, RegExp | null]> = [
  ['src/repository/x.ts', "import { buildApi } from '../api/app.ts';\nexport const x = buildApi;\n", /src\/repository may not import src\/api/],
  ['src/operator/x.ts', "import { appRoutes } from '../api/routes/apps.ts';\nexport const x = appRoutes;\n", /src\/operator may not import src\/api/],
  ['src/router/x.ts', "import { AppRepository } from '../repository/apps.ts';\nexport const x = AppRepository;\n", /src\/router may not import src\/repository/],
  ['src/launcher/x.ts', "import * as k from '../k8s/crd/index.ts';\nexport const x = k;\n", /src\/launcher may not import src\/k8s/],
  ['src/lib/x.ts', "import type { Config } from '../config/config.ts';\nexport type X = Config;\n", /src\/lib may not import src\/config/],
  ['src/cli/x.ts', "import { buildApi } from '../api/app.ts';\nexport const x = buildApi;\n", /src\/cli/],
  ['src/cli/x.ts', "import type { App } from '../api/schemas.ts';\nexport type X = App;\n", null],
  ['src/api/x.ts', "import { AppRepository } from '../repository/apps.ts';\nexport const x = AppRepository;\n", null],
  ['src/api/x.ts', 'export const port = process.env.PORT;\n', /Only main\.ts files read process\.env/],
  ['src/server/main.ts', 'export const port = process.env.PORT;\n', null],
];

for (const [file, code, expected] of cases) {
  test(`${file}: ${code.split('\n')[0]} → ${expected ? 'refused' : 'allowed'}`, async () => {
    const got = await messages(file, code);
    if (expected) assert.ok(got.some((m) => expected.test(m)), `expected ${expected} in ${JSON.stringify(got)}`);
    else assert.deepEqual(got, []);
  });
}
