//go:build tools

// Package tools records the kubeconform dependency so `go mod tidy` keeps it.
package tools

import _ "github.com/yannh/kubeconform/cmd/kubeconform"
