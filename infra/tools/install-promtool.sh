#!/usr/bin/env bash
# Builds promtool (Prometheus's rule and config checker) from the Prometheus Go module, once, into the cache outside
# the clone: $WARDEN_CACHE_DIR/bin/promtool (WARDEN_CACHE_DIR defaults to ~/.cache/warden). The observability test
# runs `promtool check rules` and `promtool test rules` on infra/observability/ with it. A cached binary of the right
# version is kept, so CI pays the build (several minutes on 2 cores) only the first time.
# Prometheus v3.x is published to the Go module proxy as v0.3xx.y (v3.6.0 -> v0.306.0 ...).
set -euo pipefail
PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-v0.316.0}"
cache_dir="${WARDEN_CACHE_DIR:-$HOME/.cache/warden}"
bin_dir="$cache_dir/bin"
promtool="$bin_dir/promtool"
stamp="$bin_dir/promtool.module-version"

if [ -x "$promtool" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$PROMETHEUS_MODULE_VERSION" ]; then
  echo "promtool $PROMETHEUS_MODULE_VERSION already in $promtool"
  exit 0
fi

command -v go >/dev/null || { echo "install-promtool: go is not on PATH; promtool is built from its Go module" >&2; exit 1; }
mkdir -p "$bin_dir"
echo "building promtool $PROMETHEUS_MODULE_VERSION into $bin_dir (several minutes the first time)"
GOBIN="$bin_dir" GOFLAGS="-trimpath" go install "github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_MODULE_VERSION}"
echo "$PROMETHEUS_MODULE_VERSION" > "$stamp"
"$promtool" --version
