.PHONY: web web-check web-dev
web: ## build the web UI (web/dist) with vite
	npx vite build web

web-check: ## typecheck the web UI (its own tsconfig)
	npx tsc --noEmit -p web/tsconfig.json

web-dev: ## vite dev server for the UI, proxying /api and /auth to a server on 127.0.0.1:8080
	npx vite web --host 127.0.0.1

# CI runs `make tools` before the tests: the UI is built once there, not by the first test files at the same time.
tools::
	node web/build-if-needed.mjs
