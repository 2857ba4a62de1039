#!/usr/bin/env bash
# Makes `etcd` available for the cluster tests and CI: nothing to do when it is
# on PATH; otherwise, on a Debian machine as root, installs Debian's
# etcd-server package (etcd 3.4). Exits non-zero, saying why, when it cannot.
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then
  echo "etcd is installed: $(etcd --version | head -n 1)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "etcd is not on PATH and this machine has no apt-get: install etcd 3.4 or later yourself" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "etcd is not on PATH and installing it needs root: run 'apt-get update && apt-get install -y etcd-server' as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Test files run in parallel and each may call this script: one installs, the others wait for it.
exec 9>/tmp/vex-install-etcd.lock
flock 9
if command -v etcd >/dev/null 2>&1; then
  echo "etcd was installed meanwhile: $(etcd --version | head -n 1)"
  exit 0
fi
apt-get update
# The package's service is not started (tests start their own members), and no systemd may be running.
apt-get install -y --no-install-recommends etcd-server
command -v etcd >/dev/null 2>&1 || { echo "etcd-server was installed but etcd is still not on PATH" >&2; exit 1; }
echo "installed $(etcd --version | head -n 1)"
