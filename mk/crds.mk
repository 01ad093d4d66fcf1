# Custom resources: CRD YAML in crds/ is generated from the TypeBox schemas in src/k8s/crd.
.PHONY: crds crds-check

crds: ## regenerate crds/*.yaml and the field reference in docs/crds.md from src/k8s/crd
	npx tsx src/k8s/crd/main.ts

crds-check: ## fail if crds/ or docs/crds.md differ from the TypeScript schemas (run make crds)
	npx tsx src/k8s/crd/main.ts --check
