#!/usr/bin/env bash
# The README's test command: every test of tradehall, on a fresh machine, with nothing
# installed by hand.
#
# 1. Installs the Debian packages the suites drive, if any is missing: openssl and curl
#    (OpenSSL-made CAs, HTTPS), nodejs (the independent receipt verifier), chromium,
#    chromium-driver and fonts-noto-cjk (the web pages in a real browser), faketime (the
#    host clock stepping back), softhsm2 (a PKCS#11 token for keys that stay on it). As
#    root with apt-get, otherwise through sudo.
# 2. Starts the machine's PostgreSQL if it is installed and not running; the PostgreSQL
#    suite uses TRADEHALL_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres).
# 3. Runs `cargo test --no-fail-fast`, passing on any arguments (e.g. a test name).
#
# No test installs anything itself: a test that lacks a tool fails and names this script.
set -euo pipefail
cd "$(dirname "$0")"

packages=(openssl curl nodejs chromium chromium-driver fonts-noto-cjk faketime softhsm2)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    apt_get=(apt-get)
  elif command -v sudo >/dev/null 2>&1; then
    apt_get=(sudo apt-get)
  else
    echo "test.sh: these Debian packages are needed and this user cannot install them: ${missing[*]}" >&2
    exit 1
  fi
  "${apt_get[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq "${missing[@]}" >/dev/null
fi

export TRADEHALL_TEST_POSTGRES="${TRADEHALL_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! pg_isready -d "$TRADEHALL_TEST_POSTGRES" -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version="$(ls /etc/postgresql | sort -V | tail -n1)"
    echo "test.sh: starting PostgreSQL $version"
    if [ "$(id -u)" -eq 0 ]; then
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    else
      sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
  fi
  for _ in $(seq 1 30); do
    pg_isready -d "$TRADEHALL_TEST_POSTGRES" -q 2>/dev/null && break
    sleep 1
  done
  if ! pg_isready -d "$TRADEHALL_TEST_POSTGRES" -q 2>/dev/null; then
    echo "test.sh: no PostgreSQL answers at $TRADEHALL_TEST_POSTGRES; the PostgreSQL suite needs one (README, \"Tests\")" >&2
    exit 1
  fi
fi

# What the fault-injection suites survived is appended to this file; start it afresh.
rm -f target/fault-injection.txt
exec cargo test --no-fail-fast "$@"
