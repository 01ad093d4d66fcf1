/**
 * `make crds` / `make crds-check`: writes the CRD YAML (and the generated part
 * of docs/crds.md) from the TypeScript schemas, or checks that the committed
 * files are up to date.
 *
 *   tsx src/k8s/crd/main.ts           write crds/*.yaml, crds/kustomization.yaml, docs/crds.md
 *   tsx src/k8s/crd/main.ts --check   exit 1 listing the files that differ
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderAll, repoReader, staleFiles } from './render.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const check = process.argv.includes('--check');
const read = repoReader(root);

if (check) {
  const stale = staleFiles(read);
  if (stale.length) {
    process.stderr.write(`These files differ from the TypeScript schemas in src/k8s/crd: ${stale.join(', ')}.\nRun \`make crds\` and commit the result.\n`);
    process.exit(1);
  }
  process.stdout.write('CRDs are up to date.\n');
} else {
  for (const f of renderAll(read)) {
    if (read(f.path) === f.content) continue;
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.content);
    process.stdout.write(`wrote ${f.path}\n`);
  }
}
