#!/usr/bin/env bash
# Installs the Debian packages the tests use when they are missing: the PostgreSQL server (the
# tests start their own cluster), headless Chromium + its driver (scan-page browser test) and
# zbarimg (decodes our QR images back), poppler-utils (renders label PDFs to check them) and a CJK
# TrueType font the labels embed. Needs root for apt-get; does nothing if all are present.
set -euo pipefail
missing=()
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    missing+=(postgresql)
fi
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || missing+=(fonts-wqy-microhei)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (install them as root)" >&2
    exit 1
fi
echo "installing ${missing[*]}…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The postgresql package starts a default cluster on 5432; the tests do not use it.
if command -v pg_ctlcluster >/dev/null 2>&1; then
    for dir in /etc/postgresql/*/main; do
        [ -d "$dir" ] && pg_ctlcluster "$(basename "$(dirname "$dir")")" main stop 2>/dev/null || true
    done
fi
