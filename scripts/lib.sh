# shellcheck shell=bash
# Shell helpers shared by scripts/setup.sh and lab/vagrant/setup-host.sh.
# Sourced, not run; the caller defines say() for its messages.

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install the named Debian/Ubuntu packages that are missing; no-op when all are there.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    say "installing ${missing[*]} from Debian/Ubuntu packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
    as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq \
        -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
}
