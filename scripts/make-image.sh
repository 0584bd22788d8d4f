#!/bin/sh
# Builds an OCI image of wok without a Docker engine: umoci, from scratch,
# with the wok binary, the shared libraries it loads (ldd), the dynamic
# loader, restic (for backups) and the CA certificates. Usage: make-image.sh WOK_BINARY OUT_DIR [TAG]
# OUT_DIR becomes an OCI image layout (skopeo copy oci:OUT_DIR:TAG docker://...).
set -eu
wok=$1
out=$2
tag=${3:-0.1.0}
command -v umoci >/dev/null || { echo "error: umoci is not installed (apt-get install umoci)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$out"
umoci init --layout "$out"
umoci new --image "$out:$tag"
# --rootless: no root needed, and files keep the build user's ids mapped to 0.
umoci unpack --rootless --image "$out:$tag" "$work/bundle"
root=$work/bundle/rootfs

install -D -m 0755 "$wok" "$root/usr/local/bin/wok"
# restic: what a site's backup Job runs (`wok backup-job create`, docs/data.md).
restic=$(command -v restic) || { echo "error: restic is not installed (apt-get install restic)" >&2; exit 1; }
install -D -m 0755 "$(readlink -f "$restic")" "$root/usr/bin/restic"
# Every library the binaries load, and the loader, at the paths ldd names
# (none for a static binary).
{ ldd "$wok"; ldd "$restic" 2>/dev/null || true; } | awk '/=> \// {print $3} /^\t\// {print $1}' | sort -u | while read -r lib; do
  # 0755: the loader must be executable, like on the host.
  install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
done
mkdir -p "$root/etc/ssl/certs" "$root/tmp"
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
chmod 1777 "$root/tmp"
# Non-root: uid 10001 matches the rendered pods' securityContext.
printf 'root:x:0:0::/:/sbin/nologin\nwok:x:10001:10001::/tmp:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nwok:x:10001:\n' > "$root/etc/group"

umoci repack --image "$out:$tag" "$work/bundle"
umoci config --image "$out:$tag" --config.user 10001:10001 \
  --config.entrypoint /usr/local/bin/wok --config.cmd version \
  --config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --config.workingdir /tmp --author wok
umoci gc --layout "$out"
echo "OCI image $out:$tag ($(du -sh "$out" | cut -f1))"
