#!/usr/bin/env bash
# The Debian packages the tests drive, installed when missing (the machines are fresh, and run as root):
# chromium for the escalation page's browser test, tmux for `warden tail` in a pseudo-terminal, kcat for the shell
# producer example. Nothing is done when all three are there.
set -euo pipefail
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
for tool in tmux kcat; do command -v "$tool" >/dev/null || missing="$missing $tool"; done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
  echo "install-test-packages: the tests need:$missing (Debian packages); install them as root" >&2
  exit 1
fi
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing the tests' Debian packages:$missing (once)"
run apt-get update -qq
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
