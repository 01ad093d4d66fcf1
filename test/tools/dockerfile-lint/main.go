// Command dockerfile-lint runs BuildKit's Dockerfile checks (the rules of
// `docker build --check`) on each file named on the command line, without a
// container engine. It prints one line per warning and exits 1 when any file
// has a warning or does not parse.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	digest "github.com/opencontainers/go-digest"
)

// offlineResolver answers every base image with an empty linux/amd64 config, so linting needs no
// registry: the checks are about the Dockerfile itself, not the base image's contents.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	config := []byte(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":[]}}`)
	return ref, digest.FromBytes(config), config, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dockerfile-lint DOCKERFILE...")
		os.Exit(2)
	}
	clean := true
	for _, name := range os.Args[1:] {
		if !lint(name) {
			clean = false
		}
	}
	if !clean {
		os.Exit(1)
	}
}

// lint prints the file's warnings (or "ok") and reports whether it had none.
func lint(name string) bool {
	ctx := context.Background()
	dt, err := os.ReadFile(name)
	if err != nil {
		fmt.Printf("%s: error: %v\n", name, err)
		return false
	}
	// The results name their source by an LLB definition; a local source stands in for the build context.
	src := llb.Local("dockerfile")
	def, err := src.Marshal(ctx)
	if err != nil {
		fmt.Printf("%s: error: %v\n", name, err)
		return false
	}
	smap := llb.NewSourceMap(&src, name, "Dockerfile", dt)
	smap.Definition = def
	res, err := dockerfile2llb.DockerfileLint(ctx, dt, dockerfile2llb.ConvertOpt{Config: dockerui.Config{}, SourceMap: smap, MetaResolver: offlineResolver{}})
	if err != nil {
		fmt.Printf("%s: error: %v\n", name, err)
		return false
	}
	clean := true
	if res.Error != nil {
		fmt.Printf("%s: error: %s\n", name, res.Error.Message)
		clean = false
	}
	for _, w := range res.Warnings {
		line := int32(0)
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = w.Location.Ranges[0].Start.Line
		}
		fmt.Printf("%s:%d: %s: %s\n", name, line, w.RuleName, w.Detail)
		clean = false
	}
	if clean {
		fmt.Printf("%s: ok\n", name)
	}
	return clean
}
