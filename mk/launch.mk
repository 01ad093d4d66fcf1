# The launcher (src/launcher): start-up benchmark; docs/benchmarks.md.
.PHONY: bench-launch

bench-launch: ## time from run to the app's first page (cold, warm venv), uv vs pip on the same requirements (needs PyPI)
	node --import tsx bench/launch/bench.ts
