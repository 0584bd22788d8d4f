#!/bin/sh
# PostgreSQL 13 (Debian 11's) beside Debian 12's 15, in Debian's own
# side-by-side layout (/usr/lib/postgresql/13, /usr/share/postgresql/13):
# the version `wok db upgrade` is tested from (tests/integration/
# test_db_upgrade.py), as an admin would install an older major from
# another suite. Its libraries Debian 12 has not (libssl1.1, libicu67,
# libldap-2.4-2: other sonames than Debian 12's) are installed as packages;
# the server's files are unpacked, not installed (its maintainer scripts
# would make and start a cluster of their own). Idempotent.
set -eu
V=13
[ -x /usr/lib/postgresql/$V/bin/pg_upgrade ] && [ -x /usr/lib/postgresql/$V/bin/postgres ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Debian 11's lists in a directory of their own: the host's sources stay as they are.
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/root"
echo "deb http://deb.debian.org/debian bullseye main" > "$work/sources.list"
apt_opts="-q -o Dir::Etc::SourceList=$work/sources.list -o Dir::Etc::SourceParts=/dev/null \
  -o Dir::State::Lists=$work/lists -o Dir::Cache=$work/cache -o Debug::NoLocking=1 \
  -o APT::Sandbox::User=root -o Acquire::Check-Valid-Until=false"
# shellcheck disable=SC2086
apt-get $apt_opts update >/dev/null ||
  { echo "error: Debian 11's package lists (deb.debian.org bullseye) could not be read" >&2; exit 1; }
cd "$work/debs"
# shellcheck disable=SC2086
apt-get $apt_opts download postgresql-$V libssl1.1 libicu67 libldap-2.4-2
DEBIAN_FRONTEND=noninteractive $SUDO dpkg -i libssl1.1_*.deb libicu67_*.deb libldap-2.4-2_*.deb >/dev/null
dpkg-deb -x postgresql-${V}_*.deb "$work/root"
$SUDO mkdir -p /usr/lib/postgresql /usr/share/postgresql
$SUDO rm -rf /usr/lib/postgresql/$V.part /usr/share/postgresql/$V
$SUDO cp -a "$work/root/usr/share/postgresql/$V" /usr/share/postgresql/$V
# The binaries last, under a temporary name: their presence says it is complete.
$SUDO cp -a "$work/root/usr/lib/postgresql/$V" /usr/lib/postgresql/$V.part
$SUDO rm -rf /usr/lib/postgresql/$V
$SUDO mv /usr/lib/postgresql/$V.part /usr/lib/postgresql/$V
/usr/lib/postgresql/$V/bin/postgres --version
