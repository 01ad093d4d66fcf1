# App bundles (src/bundle) and the h2o CLI (src/cli).
.PHONY: test-bundle bench-bundle-import

test-bundle: ## bundle format, manifest rules, hostile archives, h2o bundle CLI
	npm test -- src/bundle src/cli test/bundle-cli.test.ts

bench-bundle-import: ## import speed of a 200 MiB bundle vs a plain file copy
	node --import tsx bench/bundle-import.ts 200
