#!/bin/sh
# Builds the busybox test rootfs (see README.md) at $1 and a tarball $1.tar.gz.
set -eu
dst=${1:?usage: build.sh DIR}
bb=$(command -v busybox) || { echo "busybox not installed: apt-get install busybox-static" >&2; exit 1; }
mkdir -p "$dst/bin" "$dst/etc" "$dst/proc" "$dst/dev" "$dst/sys" "$dst/tmp" "$dst/mnt/mesos/sandbox"
chmod 1777 "$dst/tmp"
cp "$bb" "$dst/bin/busybox"
for a in sh echo sleep cat ls ps id dd true false touch mkdir rm seq head tail wc grep test env kill yes; do
  ln -sf busybox "$dst/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dst/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dst/etc/group"
tar -C "$dst" -czf "$dst.tar.gz" .
