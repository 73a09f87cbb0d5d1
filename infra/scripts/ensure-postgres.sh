#!/usr/bin/env bash
# Installs Debian's PostgreSQL server when it is missing (the tests start their own cluster).
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL's initdb is missing: install Debian's 'postgresql' package (needs root)." >&2
    exit 1
fi
echo "installing PostgreSQL server (Debian package 'postgresql')…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# The package starts a default cluster on 5432; the tests do not use it.
if command -v pg_ctlcluster >/dev/null 2>&1; then
    for v in /etc/postgresql/*/main; do
        [ -d "$v" ] && pg_ctlcluster "$(basename "$(dirname "$v")")" main stop 2>/dev/null || true
    done
fi
