#!/usr/bin/env bash
# CPython 3.14 and 3.15 for `make test-matrix` and `make wheels` on a machine that has neither:
# a minimal Debian sid root (sid ships python3.14 and python3.15 with -dev and -venv) made with
# debootstrap from the mirror apt already uses, kept between runs, and commands run inside it
# (chroot) over this checkout.
#
#   scripts/sid_root.sh ensure        make the root if it is missing or stale; print its path
#   scripts/sid_root.sh run CMD...    run CMD in the root, in this checkout (same path), as root
#   scripts/sid_root.sh has 3.14      exit 0 when the root can provide python3.14 (as root, or
#                                     with debootstrap installable)
#
# The root is made once (about a minute and 1 GB: debootstrap --variant=minbase with the
# interpreters, gcc, make and PostgreSQL for the PostgreSQL tests) under $SID_CACHE
# (/var/cache/fast-serde), outside any clone, and made again when the package list below
# changes or SID_REFRESH=1. debootstrap is installed with apt-get when missing.
#
# `run` works in a private mount namespace (unshare --mount): it bind-mounts the checkout at its
# own path, the host's Rust toolchain (~/.cargo, ~/.rustup), /dev, a fresh /dev/shm and /proc,
# copies in the host's CA bundle, resolv.conf, hosts and pip configuration (the PIP_* variables
# pass through), and unmounts all of it on exit (trap; the namespace also drops any mount left
# when its last process ends). Cargo builds into target/sid, apart from the host's target/: build
# scripts linked against sid's newer glibc must not run on the host.
#
# Needs root (debootstrap, chroot, mount). Environment: SID_CACHE, SID_MIRROR (default: the
# first Debian URI of /etc/apt/sources.list[.d]), SID_REFRESH.
set -euo pipefail

SID_CACHE="${SID_CACHE:-/var/cache/fast-serde}"
ROOT="$SID_CACHE/sid-root"
# The packages of the root: what the matrix lane and the wheels need. Changing this list makes
# the next run build a new root.
PACKAGES="python3.14,python3.14-dev,python3.14-venv,python3.15,python3.15-dev,python3.15-venv"
PACKAGES="$PACKAGES,gcc,libc6-dev,make,ca-certificates"
EXTRA_PACKAGES="postgresql"  # installed in a second step, with services kept from starting
STAMP_TEXT="debootstrap sid minbase: $PACKAGES; apt: $EXTRA_PACKAGES"

log() { printf 'sid-root: %s\n' "$*" >&2; }

mirror() {
    if [[ -n "${SID_MIRROR:-}" ]]; then echo "$SID_MIRROR"; return; fi
    local uri
    uri="$( { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
              grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
                  | awk '{print $2}'; } | grep -E '/debian/?$' | head -1)"
    echo "${uri:-http://deb.debian.org/debian}"
}

# Mount what a command inside the root needs, in the current (private) mount namespace, run it,
# and unmount in reverse order whatever happens.
run_inside() {
    local root="$1"; shift
    local here home mounted=()
    here="$(pwd -P)"
    home="${HOME:-/root}"
    cleanup() {
        local i
        for (( i=${#mounted[@]}-1; i>=0; i-- )); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
    }
    trap cleanup EXIT
    bind() {  # bind SRC DST: mount SRC at DST inside the root
        mkdir -p "$root$2"
        mount --bind "$1" "$root$2"
        mounted+=("$root$2")
    }
    mkdir -p "$root/proc" "$root/dev"
    mount -t proc proc "$root/proc"; mounted+=("$root/proc")
    bind /dev /dev
    mkdir -p "$root/dev/shm"
    mount -t tmpfs -o mode=1777 shm "$root/dev/shm"; mounted+=("$root/dev/shm")
    [[ -d "$home/.cargo" ]] && bind "$home/.cargo" /root/.cargo
    [[ -d "$home/.rustup" ]] && bind "$home/.rustup" /root/.rustup
    [[ "$here" != / ]] && bind "$here" "$here"
    # pip's local wheel directory (PIP_FIND_LINKS), where it is one, at the same path.
    [[ -n "${PIP_FIND_LINKS:-}" && -d "$PIP_FIND_LINKS" ]] && bind "$PIP_FIND_LINKS" "$PIP_FIND_LINKS"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    cp -L /etc/hosts "$root/etc/hosts" 2>/dev/null || true
    if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
        mkdir -p "$root/etc/ssl/certs"
        cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    fi
    [[ -f /etc/pip.conf ]] && cp -L /etc/pip.conf "$root/etc/pip.conf"
    if [[ -n "${PIP_CERT:-}" && -f "$PIP_CERT" && ! -e "$root$PIP_CERT" ]]; then
        mkdir -p "$(dirname "$root$PIP_CERT")"; cp -L "$PIP_CERT" "$root$PIP_CERT"
    fi
    # The host's PATH names directories the root does not have (pyenv, the host venvs).
    local status=0
    env HOME=/root PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        CARGO_TARGET_DIR="$here/target/sid" PYENV_ROOT=/nonexistent \
        chroot "$root" /bin/bash -c 'cd "$1" && shift && exec "$@"' bash "$here" "$@" || status=$?
    return $status
}

build_root() {
    command -v debootstrap >/dev/null 2>&1 || {
        log "installing debootstrap (apt-get)"
        apt-get install -y -q debootstrap >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null && apt-get install -y -q debootstrap >/dev/null; }
    }
    local tmp="$ROOT.new.$$" m start=$SECONDS
    m="$(mirror)"
    rm -rf "$tmp"
    log "building the sid root from $m into $tmp (about a minute)"
    debootstrap --variant=minbase --include="$PACKAGES" sid "$tmp" "$m" >"$SID_CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$SID_CACHE/debootstrap.log" >&2; rm -rf "$tmp"; return 1; }
    # No service starts inside the root (postgresql's own cluster): invoke-rc.d asks this first.
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod +x "$tmp/usr/sbin/policy-rc.d"
    unshare --mount --propagation private bash -c "$(declare -f run_inside log); run_inside \"\$@\"" bash "$tmp" \
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $EXTRA_PACKAGES \
        >>"$SID_CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$SID_CACHE/debootstrap.log" >&2; rm -rf "$tmp"; return 1; }
    chroot "$tmp" apt-get clean
    echo "$STAMP_TEXT" >"$tmp/.fast-serde-root"
    rm -rf "$ROOT"
    mv "$tmp" "$ROOT"
    log "sid root ready in $(( SECONDS - start ))s: $(chroot "$ROOT" python3.14 -V) $(chroot "$ROOT" python3.15 -V)"
}

ensure() {
    [[ $EUID -eq 0 ]] || { log "needs root (debootstrap, chroot, mount)"; return 1; }
    mkdir -p "$SID_CACHE"
    # One builder at a time; a second run waits and then finds the root ready.
    exec 9>"$SID_CACHE/sid-root.lock"
    flock 9
    if [[ "${SID_REFRESH:-0}" == 1 || ! -f "$ROOT/.fast-serde-root" \
          || "$(cat "$ROOT/.fast-serde-root")" != "$STAMP_TEXT" ]]; then
        build_root
    fi
    flock -u 9
    echo "$ROOT"
}

case "${1:-}" in
    ensure)
        ensure >/dev/null
        echo "$ROOT";;
    has)
        v="${2:?usage: sid_root.sh has 3.X}"
        [[ $EUID -eq 0 ]] && [[ ",$PACKAGES," == *",python$v,"* ]] \
            && { command -v debootstrap >/dev/null 2>&1 || command -v apt-get >/dev/null 2>&1; };;
    run)
        shift
        (( $# )) || { echo "usage: sid_root.sh run CMD..." >&2; exit 2; }
        ensure >/dev/null
        exec unshare --mount --propagation private \
            bash -c "$(declare -f run_inside log); run_inside \"\$@\"" bash "$ROOT" "$@";;
    *)
        sed -n '2,25p' "$0" >&2; exit 2;;
esac
