#!/bin/sh
# Debian's WordPress (the `wordpress` and `wordpress-theme-twentytwentythree`
# packages), unpacked into DIR for tests/integration/test_wordpress.py: the
# files only, not installed (the package would bring Apache and its service).
# Idempotent.
set -eu
dir=$(realpath -m "$1")
[ -f "$dir/usr/share/wordpress/wp-settings.php" ] && exit 0
work="$dir.part"
rm -rf "$work"
mkdir -p "$work/debs"
cd "$work/debs"
# The lists may be older than the archive (a version gone): once more after an update.
get() { apt-get download -q -o APT::Sandbox::User=root wordpress wordpress-theme-twentytwentythree; }
get || { apt-get update -qq && get; }
mkdir -p "$work/root"
for deb in *.deb; do dpkg-deb -x "$deb" "$work/root"; done
cd - >/dev/null
rm -rf "$dir"
mv "$work/root" "$dir"
rm -rf "$work"
echo "WordPress unpacked in $dir"
