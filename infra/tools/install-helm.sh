#!/usr/bin/env bash
# Builds the Helm CLI from its Go module, once, into the cache outside the clone:
# $WARDEN_CACHE_DIR/bin/helm (WARDEN_CACHE_DIR defaults to ~/.cache/warden). A cached binary of the right
# version is kept, so CI pays the build (a few minutes on 2 cores) only the first time.
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v4.3.2}"
cache_dir="${WARDEN_CACHE_DIR:-$HOME/.cache/warden}"
bin_dir="$cache_dir/bin"
helm="$bin_dir/helm"
# `go install` builds without Helm's release ldflags, so `helm version` says only "v4.3": a stamp names the module
# version the binary was built from.
stamp="$bin_dir/helm.module-version"

if [ -x "$helm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$HELM_VERSION" ]; then
  echo "helm $HELM_VERSION already in $helm"
  exit 0
fi

command -v go >/dev/null || { echo "install-helm: go is not on PATH; Helm is built from its Go module" >&2; exit 1; }
mkdir -p "$bin_dir"
major="${HELM_VERSION%%.*}"
echo "building helm $HELM_VERSION into $bin_dir (a few minutes the first time)"
GOBIN="$bin_dir" GOFLAGS="-trimpath" go install "helm.sh/helm/${major}/cmd/helm@${HELM_VERSION}"
echo "$HELM_VERSION" > "$stamp"
"$helm" version
