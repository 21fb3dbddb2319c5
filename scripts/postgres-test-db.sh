#!/usr/bin/env bash
# A PostgreSQL database for the tests (the PostgreSQL back ends of EMREG, the SMP and the NCP).
# Prints, as the only lines on standard output (everything else goes to standard error):
#
#   export EMREX_TEST_POSTGRES_URL=postgres://emrex_test:PASSWORD@127.0.0.1:PORT/emrex_test
#   export EMREX_TEST_POSTGRES_CA=DIR/ca.crt
#
# The server also accepts TLS, with a certificate for `localhost` and 127.0.0.1 issued by a
# throw-away test CA (DIR/ca.crt), so tests can connect with sslmode=verify-full.
#
# so the test command can do:
#
#   eval "$(scripts/postgres-test-db.sh)" && cargo test -p emrex-emreg
#
# What it does, each step only when needed (safe to run again and again; a second run reuses the
# server, role, password and database):
#   1. installs Debian's `postgresql` if no PostgreSQL server binaries are found;
#   2. creates a private, throw-away cluster in $EMREX_PG_DIR (default: /tmp/emrex-postgres-test,
#      or $TMPDIR/emrex-postgres-test when not root)
#      listening on 127.0.0.1 only, on a free port, with fsync off (test data only);
#   3. starts it if it is not running;
#   4. creates the role `emrex_test` (random password, kept in the cluster directory) and the
#      database `emrex_test` owned by it. Tests create their own schemas inside it.
#
# Runs as root (as on CI: the server itself then runs as the `postgres` user) or as a normal user
# who has the PostgreSQL binaries installed.
#
#   EMREX_PG_DIR       where the cluster lives
#   EMREX_PG_STOP=1    stop the cluster instead (prints nothing on stdout)
#   EMREX_PG_RESTART=1 restart the running cluster (prints nothing on stdout)
set -euo pipefail

log() { printf '[postgres-test-db] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# As root the server runs as `postgres`, which must be able to reach the directory: use /tmp
# rather than a $TMPDIR that may be private to root.
if [ "$(id -u)" = 0 ]; then default_dir=/tmp/emrex-postgres-test; else default_dir="${TMPDIR:-/tmp}/emrex-postgres-test"; fi
dir="${EMREX_PG_DIR:-$default_dir}"
data="$dir/data"
role=emrex_test
db=emrex_test

find_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v pg_ctl)"; return
  fi
}

bindir=$(find_bindir)
if [ -z "$bindir" ]; then
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and we are not root; install the postgresql package"
  log "installing Debian package postgresql"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bindir=$(find_bindir)
  [ -n "$bindir" ] || die "postgresql installed, but initdb/pg_ctl were not found"
fi
version=$("$bindir/pg_ctl" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')
log "using PostgreSQL $version from $bindir"

# Run a server-side command as the cluster's owner (initdb and the server refuse to run as root).
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "user postgres does not exist (is the postgresql package installed?)"
  as_owner() { runuser -u postgres -- "$@"; }
  owner=postgres
else
  as_owner() { "$@"; }
  owner=$(id -un)
fi

pgctl() { as_owner "$bindir/pg_ctl" -D "$data" "$@"; }

if [ "${EMREX_PG_STOP:-0}" = 1 ]; then
  if [ -f "$data/PG_VERSION" ]; then pgctl -m fast stop >&2 || true; fi
  exit 0
fi
# A fault to survive (scripts/fault-bench.sh): restart the server, cutting every connection.
if [ "${EMREX_PG_RESTART:-0}" = 1 ]; then
  pgctl -w -t 60 -m fast -l "$dir/server.log" restart >&2
  exit 0
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown "$owner" "$dir"
chmod 700 "$dir"

# A cluster of another major version (or a half-made one) is test data: start over.
if [ -d "$data" ] && [ "$(cat "$data/PG_VERSION" 2>/dev/null || true)" != "$version" ]; then
  log "discarding the cluster in $data (not a complete PostgreSQL $version cluster)"
  pgctl -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data" "$dir/port"
fi

if [ ! -f "$data/PG_VERSION" ]; then
  port=55432
  while ! port_free "$port"; do port=$((port + 1)); done
  log "creating a private cluster in $data on port $port"
  as_owner "$bindir/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >&2
  cat >>"$data/postgresql.conf" <<EOF
# emrex test cluster: loopback only, throw-away data
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  echo "$port" >"$dir/port"
fi
port=$(cat "$dir/port")

# TLS with a throw-away CA (test-only keys, made here, never committed).
if [ ! -s "$data/server.crt" ] || [ ! -s "$dir/ca.crt" ]; then
  log "making a test CA and a server certificate for localhost / 127.0.0.1"
  tls=$(mktemp -d)
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=emrex TEST-ONLY PostgreSQL CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/server.key" \
    -out "$tls/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tls/ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 3650 -extfile "$tls/ext" -out "$tls/server.crt" >/dev/null 2>&1
  install -m 600 "$tls/server.key" "$data/server.key"
  install -m 644 "$tls/server.crt" "$data/server.crt"
  [ "$(id -u)" = 0 ] && chown "$owner" "$data/server.key" "$data/server.crt"
  install -m 644 "$tls/ca.crt" "$dir/ca.crt"
  rm -rf "$tls"
fi
if ! grep -q '^ssl = on' "$data/postgresql.conf"; then
  echo "ssl = on" >>"$data/postgresql.conf"
  if pgctl status >/dev/null 2>&1; then pgctl reload >&2; fi
fi

if pgctl status >/dev/null 2>&1; then
  log "cluster already running on port $port"
else
  log "starting the cluster on port $port"
  pgctl -w -t 60 -l "$dir/server.log" start >&2 || { tail -n 20 "$dir/server.log" >&2 || true; die "the server did not start"; }
fi

# Superuser access over the cluster's own Unix socket (trusted locally; TCP needs the password).
psql_su() { "$bindir/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

if [ ! -s "$dir/password" ]; then
  (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$dir/password")
fi
password=$(cat "$dir/password")

psql_su <<SQL >&2
SELECT format('CREATE ROLE %I LOGIN', '$role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role')
\gexec
ALTER ROLE $role WITH LOGIN PASSWORD '$password';
SELECT format('CREATE DATABASE %I OWNER %I', '$db', '$role') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db')
\gexec
SQL

log "database $db ready for role $role on 127.0.0.1:$port"
echo "export EMREX_TEST_POSTGRES_URL=postgres://$role:$password@127.0.0.1:$port/$db"
echo "export EMREX_TEST_POSTGRES_CA=$dir/ca.crt"
