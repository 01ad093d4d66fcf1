# Local Kubernetes control plane for development and tests (test/cluster/, docs/testing.md).
.PHONY: cluster-up cluster-down cluster-status cluster-build

cluster-up: ## start the local control plane (etcd, apiserver, controllers, scheduler, kwok nodes) on 127.0.0.1
	@node --import tsx test/cluster/main.ts up

cluster-down: ## stop the processes cluster-up started and remove their data
	@node --import tsx test/cluster/main.ts down

cluster-status: ## say whether the local control plane is running
	@node --import tsx test/cluster/main.ts status

cluster-build: ## only build and cache the control-plane binaries (~/.cache/appstore/bin)
	@node --import tsx test/cluster/main.ts build

# Double-colon: other mk/*.mk files may add their own `tools::` recipes (CI runs `make tools` before the tests).
.PHONY: tools
tools:: cluster-build
