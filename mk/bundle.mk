# App bundles (src/bundle) and the h2o CLI (src/cli).
.PHONY: test-bundle bench-bundle

test-bundle: ## bundle format, manifest rules, hostile archives, h2o bundle CLI
	npm test -- src/bundle src/cli test/bundle-cli.test.ts

bench-bundle: ## import a 200 MB bundle through the server: peak RSS rise and speed vs a plain copy
	node --import tsx bench/bundle.ts
