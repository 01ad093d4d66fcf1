.PHONY: docs-config
docs-config: ## regenerate docs/configuration.md from src/config/options.ts
	node --import tsx -e "import('./src/config/reference.ts').then(m => process.stdout.write(m.configurationReference()))" > docs/configuration.md
