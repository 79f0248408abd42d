#!/usr/bin/env bash
# What `pnpm test` needs besides Node.js, made ready before the suites run (and by .ci/run):
# the Debian packages whose programs the tests start, installed when missing, and PostgreSQL
# and Redis started when they are down. With everything in place it only checks.
set -euo pipefail

# The Debian packages the tests start: package, the program the tests run, and why.
TEST_PACKAGES=(
  'pgbouncer pgbouncer the db-pool and api suites connect through a real pgbouncer'
  'chromium chromium the api suite renders the docs page in headless Chromium'
  'prometheus promtool the api suite unit-tests the alert rules and checks a real /metrics scrape with promtool'
  'nginx nginx the api suite rolls a deploy and a rollback through docker/lb/nginx.conf in a real nginx'
)

say () { printf 'test set-up: %s\n' "$*"; }
fail () { printf 'test set-up: %s\n' "$@" >&2; exit 1; }

# A regular file we may execute: bash's `command -v` also accepts other files when run as root.
is_executable () { [ -f "$1" ] && [ -x "$1" ]; }

# PATH, and the sbin folders a user's PATH often lacks.
on_path () {
  local dir IFS=:
  local search="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
  for dir in $search; do
    is_executable "$dir/$1" && return 0
  done
  return 1
}

# Where the tests look: <PROGRAM>_BIN (PGBOUNCER_BIN for pgbouncer), then the path.
has_program () {
  local override
  override="$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')_BIN"
  [ -n "${!override:-}" ] && is_executable "${!override}" && return 0
  on_path "$1"
}

install_missing_packages () {
  local missing=() line package program why
  for line in "${TEST_PACKAGES[@]}"; do
    read -r package program why <<< "$line"
    has_program "$program" && continue
    say "$program not found; $why (Debian package $package)."
    missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  local install="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if ! on_path apt-get; then
    fail "cannot install ${missing[*]}: this system has no apt-get." \
      "Install the same packages with its package manager; on Debian or Ubuntu: $install"
  fi
  if [ "$(id -u)" -ne 0 ]; then
    fail "cannot install ${missing[*]}: installing needs root." "Run: sudo sh -c '$install'" "then run pnpm test again."
  fi
  say "installing: $install"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  for line in "${TEST_PACKAGES[@]}"; do
    read -r package program why <<< "$line"
    has_program "$program" || fail "$package is installed but $program is still not found."
  done
  say "installed ${missing[*]}."
}

# The services at their default addresses, started the way the CI machine's are. A
# TEST_DATABASE_URL or TEST_REDIS_URL of your own is yours to keep running.
start_postgres () {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then say "TEST_DATABASE_URL is set: using that PostgreSQL as it is."; return; fi
  pg_isready -q -h 127.0.0.1 -p 5432 && return
  local start
  start="pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql 2>/dev/null | head -n 1) main start"
  say "PostgreSQL is not answering on 127.0.0.1:5432: starting it ($start)."
  $start || fail "could not start PostgreSQL. Run as root: $start"
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 1; done
  fail 'PostgreSQL did not answer on 127.0.0.1:5432 within 30 s.'
}

start_redis () {
  if [ -n "${TEST_REDIS_URL:-}" ]; then say "TEST_REDIS_URL is set: using that Redis as it is."; return; fi
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return
  local start='redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
  say "Redis is not answering on 127.0.0.1:6379: starting it ($start)."
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no || fail "could not start Redis. Run: $start"
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return; sleep 1; done
  fail 'Redis did not answer on 127.0.0.1:6379 within 30 s.'
}

install_missing_packages
start_postgres
start_redis
say 'ready.'
