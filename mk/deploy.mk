# Deployment (issue 10): manifests/ (kustomize), kind-config.yaml, Dockerfile*, docs/deploy.md.
# kind-up, images, deploy and undeploy need docker, kind and kubectl on PATH; they say so when one is missing.
.PHONY: kind-up kind-down images deploy undeploy test-manifests

KIND_CLUSTER ?= appstore
OVERLAY ?= manifests/overlays/kind
IMAGE ?= appstore:dev
LAUNCHER_IMAGE ?= appstore-launcher:dev
INGRESS_NGINX_MANIFEST ?= https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.12.1/deploy/static/provider/kind/deploy.yaml

# $(call need,program,why): stop with a clear message when a program is not installed.
need = @command -v $(1) >/dev/null 2>&1 || { echo "make $@: '$(1)' is not installed or not on PATH; $(2) (see docs/deploy.md)" >&2; exit 1; }

kind-up: ## create the kind cluster (kind-config.yaml) with ingress-nginx and the CoreDNS rewrites for *.localhost
	$(call need,docker,kind runs its nodes as containers)
	$(call need,kind,install it from https://kind.sigs.k8s.io)
	$(call need,kubectl,it applies the manifests)
	kind get clusters | grep -qx '$(KIND_CLUSTER)' || kind create cluster --name $(KIND_CLUSTER) --config kind-config.yaml
	kubectl --context kind-$(KIND_CLUSTER) apply -f $(INGRESS_NGINX_MANIFEST)
	kubectl --context kind-$(KIND_CLUSTER) apply -f manifests/overlays/kind/coredns.yaml
	kubectl --context kind-$(KIND_CLUSTER) -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=180s

kind-down: ## delete the kind cluster
	$(call need,kind,install it from https://kind.sigs.k8s.io)
	kind delete cluster --name $(KIND_CLUSTER)

images: ## build the server and launcher images (Dockerfile, Dockerfile.launcher); loads them into kind when the cluster exists
	$(call need,docker,the images are built with docker build)
	docker build -t $(IMAGE) -f Dockerfile .
	docker build -t $(LAUNCHER_IMAGE) -f Dockerfile.launcher .
	if command -v kind >/dev/null 2>&1 && kind get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then \
	  kind load docker-image --name $(KIND_CLUSTER) $(IMAGE) $(LAUNCHER_IMAGE); fi

deploy: ## apply OVERLAY (default: the kind overlay) to the current kubectl context with server-side apply
	$(call need,kubectl,it applies the manifests)
	kubectl apply --server-side --field-manager=appstore-deploy -k $(OVERLAY)
	kubectl -n appstore rollout status deployment/appstore --timeout=300s

undeploy: ## delete what OVERLAY created (the CRDs too, and with them every AppInstance)
	$(call need,kubectl,it deletes the manifests)
	kubectl delete --ignore-not-found -k $(OVERLAY)

test-manifests: ## kubeconform, server-side dry-run, RBAC (can-i, and the operator/API under the ServiceAccount), Dockerfile lint, Argo CD health script
	npm test -- test/manifests.test.ts test/manifests-operator.test.ts test/manifests-images.test.ts

# CI builds the Go test tools before the tests (see mk/cluster.mk).
tools::
	@node --import tsx -e "import('./test/support/go-tool.ts').then(async (m) => { for (const t of [{ module: 'test/tools/kubeconform', pkg: 'github.com/yannh/kubeconform/cmd/kubeconform', name: 'kubeconform' }, { module: 'test/tools/dockerfile-lint', pkg: '.', name: 'dockerfile-lint' }]) console.log(await m.ensureGoTool(t, console.log)); })"
