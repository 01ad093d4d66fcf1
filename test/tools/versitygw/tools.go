//go:build tools

// Package tools records the versitygw dependency so `go mod tidy` keeps it.
package tools

import _ "github.com/versity/versitygw/cmd/versitygw"
