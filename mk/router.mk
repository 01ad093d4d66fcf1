# The router (src/router): authenticated routing and proxying to instances; docs/router.md.
.PHONY: bench-router test-router

bench-router: ## router vs nginx vs the upstream (wrk): throughput, added p99, 10→200 connections, 10k idle websockets
	ulimit -n 65536 2>/dev/null; node --import tsx bench/router/bench.ts

test-router: ## router integration tests (local cluster, real upstreams on 127.64.x.y)
	npm test -- test/router.test.ts
