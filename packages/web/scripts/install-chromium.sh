#!/usr/bin/env bash
# Makes Debian's Chromium available at /usr/bin/chromium for the page's
# end-to-end tests (playwright-core drives it; no browser is downloaded by
# playwright). Nothing to do when it is there; otherwise, on a Debian machine
# as root, installs the `chromium` package. Exits non-zero, saying why, when it cannot.
set -euo pipefail
browser=/usr/bin/chromium
if [ -x "$browser" ]; then
  echo "chromium is installed: $("$browser" --version 2>/dev/null | head -n 1)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$browser is missing and this machine has no apt-get: install Chromium yourself" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "$browser is missing and installing it needs root: run 'apt-get update && apt-get install -y chromium' as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Test files may run in parallel and each may call this script: one installs, the others wait for it.
exec 9>/tmp/vex-install-chromium.lock
flock 9
if [ -x "$browser" ]; then
  echo "chromium was installed meanwhile"
  exit 0
fi
apt-get update
apt-get install -y --no-install-recommends chromium
[ -x "$browser" ] || { echo "chromium was installed but $browser is still missing" >&2; exit 1; }
echo "installed $("$browser" --version 2>/dev/null | head -n 1)"
