# The AppInstance operator (src/operator); docs/operator.md.
.PHONY: bench-operator test-operator

bench-operator: ## operator on the local control plane: create→children vs a bare create, 1000 instances at once (queue wait p99), cache bytes per instance
	node --expose-gc --import tsx bench/operator/bench.ts

test-operator: ## operator unit and integration tests (local cluster: children, status, suspend, GC, failover, a real apiserver restart)
	npm test -- src/operator src/lib/metrics.test.ts test/operator.test.ts test/operator-drift.test.ts test/operator-ha.test.ts test/operator-metrics.test.ts test/k8s-connections.test.ts
