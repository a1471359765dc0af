#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries (pg_ctl, initdb, postgres) are on this machine, so that
# `make test` can start a throwaway server (python/tests/support/pg_server.py) for the PostgreSQL
# tests.
#
#   * pg_ctl found (PATH, $FAST_SERDE_PG_BIN, /usr/lib/postgresql/<ver>/bin): nothing to do.
#   * $FAST_SERDE_PG_DSN set (an already running server is used): nothing to do.
#   * otherwise, with apt-get: `apt-get update && apt-get install -y postgresql`
#     (as root, or through password-less sudo); a failed install exits non-zero.
#   * no apt-get (or no root/sudo): print why and exit 0; the PostgreSQL tests then skip
#     with the same explanation.
#
# Debian's package may create and start its default `main` cluster on port 5432 (the distro's
# behaviour; the tests never use it: they run their own cluster on a free port of 127.0.0.1).
set -euo pipefail

log() { printf 'pg_setup: %s\n' "$*"; }

if [[ -n "${FAST_SERDE_PG_DSN:-}" ]]; then
    log "FAST_SERDE_PG_DSN is set: the tests use that server, nothing to install."
    exit 0
fi

find_pg_ctl() {
    local d
    if [[ -n "${FAST_SERDE_PG_BIN:-}" && -x "${FAST_SERDE_PG_BIN}/pg_ctl" ]]; then
        echo "${FAST_SERDE_PG_BIN}/pg_ctl"; return 0
    fi
    if command -v pg_ctl >/dev/null 2>&1; then
        command -v pg_ctl; return 0
    fi
    for d in /usr/lib/postgresql/*/bin; do
        if [[ -x "$d/pg_ctl" && -x "$d/initdb" && -x "$d/postgres" ]]; then
            echo "$d/pg_ctl"; return 0
        fi
    done
    return 1
}

if pg_ctl_path="$(find_pg_ctl)"; then
    log "PostgreSQL found: ${pg_ctl_path}"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    log "pg_ctl is missing and apt-get is unavailable: install PostgreSQL yourself (or set"
    log "FAST_SERDE_PG_DSN / FAST_SERDE_PG_BIN); the PostgreSQL tests will be skipped."
    exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    log "pg_ctl is missing and installing it needs root (or password-less sudo); run as root:"
    log "    apt-get update && apt-get install -y postgresql"
    log "The PostgreSQL tests will be skipped."
    exit 0
fi

log "pg_ctl is missing: installing Debian's postgresql package with apt-get"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends postgresql

if pg_ctl_path="$(find_pg_ctl)"; then
    log "PostgreSQL installed: ${pg_ctl_path}"
    exit 0
fi
log "apt-get finished but no pg_ctl was found (looked on PATH and in /usr/lib/postgresql/*/bin)"
exit 1
