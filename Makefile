# Appstore make targets. Component-specific targets live in mk/*.mk.
.PHONY: help install start test lint typecheck check

help: ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

install: ## install npm dependencies
	npm ci

start: ## run the app store on its embedded default
	npm start

test: ## run the whole test suite (starts PostgreSQL, S3, the local cluster as needed)
	npm test

lint: ## eslint, including the architecture's import directions
	npx eslint .

typecheck: ## tsc --noEmit, for the server and for the web UI
	npx tsc --noEmit && npx tsc --noEmit -p web

check: lint typecheck ## lint and typecheck

include $(wildcard mk/*.mk)
