#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian 12 machine (as root):
# Debian packages for the lab, and the one virtualenv (Salt, pytest, linters) built with
# Debian's own python3 so that it also runs inside the lab hosts.  Reuses what is present.
# (Debian's zookeeper package on the machine itself only provides the jars from which
# test/standins/build_zookeeper.py assembles the archive-install test artifact; Maven
# resolves Storm's release jars for tools/storm_dist.py.)
set -euo pipefail

VENV=${LAB_VENV:-/opt/storm-sklearn-lab/venv}
HERE=$(cd "$(dirname "$0")" && pwd)
REQUIREMENTS="$HERE/requirements.txt"
# nftables: the render tests check the storm formula's firewall table with `nft --check`.
# gpg, gpgv: the unit tests sign a release with a throw-away key and check it as hosts do.
APT_PACKAGES=(debootstrap systemd-container apt-cacher-ng iproute2 python3-venv zookeeper maven
              ca-certificates nftables gpg gpgv)

step() { printf '[bootstrap %4ss] %s\n' "$SECONDS" "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: run as root (the lab boots systemd-nspawn hosts and a bridge)" >&2
  exit 1
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # policy-rc.d keeps apt-cacher-ng's own service from starting: the lab runs its own.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi

# The venv is rebuilt only when the pinned requirements change.
stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "building $VENV (Salt, pytest, linters; about a minute)"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$REQUIREMENTS"
  echo "$want" > "$stamp"
fi
step "ready: $VENV"
