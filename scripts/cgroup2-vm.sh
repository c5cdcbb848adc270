#!/bin/bash
# Runs Go test binaries as root inside a virtual machine whose only cgroup
# hierarchy is cgroup v2, to test the linux containerizer under v2 on a
# host that has v1 (or v2) cgroups. The machine is qemu with software
# emulation (no KVM needed) booting Debian's kernel with an initramfs that
# holds busybox, the test binaries and their shared libraries.
#
#   scripts/cgroup2-vm.sh [-run REGEXP] TEST_BINARY...
#
# Each binary is a `go test -c` build; it runs with -test.v -test.run
# REGEXP (default TestLinux). Exit status: the tests' (0 when all pass),
# 1 when a test was skipped (a skip here means the v2 path went untested),
# 124 when the machine gave no result.
# With MESH_BIN set (the process-level tests' binary), that binary goes
# into the machine too and the tests find it there.
# Settings (environment): CGROUP2_VM_DIR (kernel cache and output;
# default bin/cgroup2-vm), VM_TIMEOUT (seconds, default 900), VM_SMP (2),
# VM_MEM (MiB, 2048).
#
# Needs root to install qemu-system-x86 and download the kernel package
# (apt-get), and to create device nodes for the initramfs.
set -euo pipefail

run=TestLinux
if [ "${1:-}" = -run ]; then
	run=$2
	shift 2
fi
[ $# -gt 0 ] || { echo "usage: $0 [-run REGEXP] TEST_BINARY..." >&2; exit 2; }
dir=$(mkdir -p "${CGROUP2_VM_DIR:-bin/cgroup2-vm}" && cd "${CGROUP2_VM_DIR:-bin/cgroup2-vm}" && pwd)
cache=$dir/cache kernel=$dir/kernel root=$dir/initramfs serial=$dir/serial.log
mkdir -p "$cache"
log() { echo "cgroup2-vm: $*" >&2; }

# Tools and kernel.
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v busybox >/dev/null || [ -x /bin/busybox ] || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
busybox=$(command -v busybox || echo /bin/busybox)
if ldd "$busybox" >/dev/null 2>&1; then
	echo "cgroup2-vm: $busybox is not statically linked (install busybox-static)" >&2
	exit 2
fi
deb=$(ls "$cache"/linux-image-*-amd64-unsigned_*_amd64.deb 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$deb" ]; then
	# linux-image-amd64 names the current kernel package; take its
	# unsigned build (the same kernel without the signature wrapper).
	apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq
	img=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	[ -n "$img" ] || { echo "cgroup2-vm: no kernel package found for linux-image-amd64" >&2; exit 2; }
	log "downloading ${img}-unsigned"
	(cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root "${img}-unsigned")
	deb=$(ls "$cache"/linux-image-*-amd64-unsigned_*_amd64.deb | sort -V | tail -1)
fi
if [ ! -f "$kernel/.from-$(basename "$deb")" ]; then
	rm -rf "$kernel" && mkdir -p "$kernel"
	dpkg -x "$deb" "$kernel"
	touch "$kernel/.from-$(basename "$deb")"
fi
vmlinuz=$(ls "$kernel"/boot/vmlinuz-* | head -1)
kver=${vmlinuz##*/vmlinuz-}

# The initramfs: busybox, the host's users, the test binaries with their
# shared libraries at the same paths, and overlayfs (libcontainer seals
# its own binary with an overlay mount when it can).
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,newroot,modules,tests}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
cp "$busybox" "$root/usr/bin/busybox"
for a in $("$busybox" --list-full); do
	[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
done
cp /etc/passwd /etc/group "$root/etc/"
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3
tests=()
for bin in "$@"; do
	name=$(basename "$bin")
	cp "$bin" "$root/tests/$name"
	tests+=("$name")
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' || true); do
		mkdir -p "$root/$(dirname "$lib")"
		cp -L "$lib" "$root/$lib"
	done
done
if [ -n "${MESH_BIN:-}" ]; then
	cp "$MESH_BIN" "$root/tests/mesh"
fi
ko=$(ls "$kernel/lib/modules/$kver/kernel/fs/overlayfs/overlay.ko"* 2>/dev/null | head -1 || true)
case $ko in
*.xz) xz -dc "$ko" >"$root/modules/overlay.ko" ;;
*.zst) zstd -dc "$ko" >"$root/modules/overlay.ko" ;;
?*) cp "$ko" "$root/modules/overlay.ko" ;;
esac

# Stage one copies the initramfs into a tmpfs and switches to it, since
# pivot_root (which containers use) refuses the initramfs itself.
cat >"$root/init" <<'EOF'
#!/bin/sh
mount -t tmpfs -o mode=0755 tmpfs /newroot
for f in /*; do [ "$f" = /newroot ] || cp -a "$f" /newroot/; done
exec switch_root /newroot /init2
EOF
# Stage two mounts cgroup2 alone, enables every controller and runs the tests.
{
	echo '#!/bin/sh'
	echo "RUN='$run'"
	echo "TESTS='${tests[*]}'"
	cat <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp
[ -x /tests/mesh ] && export MESH_BIN=/tests/mesh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control
done
ip link set lo up
[ -e /modules/overlay.ko ] && insmod /modules/overlay.ko
echo "MESH-VM: kernel $(uname -r); cgroup mounts: $(grep cgroup /proc/mounts | cut -d' ' -f3 | sort -u | tr '\n' ' ')"
echo "MESH-VM: controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
rc=0
cd /tmp
for t in $TESTS; do
	echo "MESH-VM: running $t -test.run '$RUN'"
	/tests/$t -test.v -test.run "$RUN" -test.timeout 10m || rc=1
done
echo "MESH-VM-EXIT=$rc"
poweroff -f
EOF
} >"$root/init2"
chmod 755 "$root/init" "$root/init2"
(cd "$root" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1 >"$dir/initrd.gz")

log "booting kernel $kver under qemu (software emulation); output in $serial"
set +e
timeout --kill-after=10 "${VM_TIMEOUT:-900}" qemu-system-x86_64 \
	-machine q35 -accel tcg,thread=multi -cpu max -m "${VM_MEM:-2048}" -smp "${VM_SMP:-2}" \
	-nographic -no-reboot -net none \
	-kernel "$vmlinuz" -initrd "$dir/initrd.gz" \
	-append "console=ttyS0 panic=-1 loglevel=4 cgroup_no_v1=all" \
	</dev/null >"$serial" 2>&1
set -e
tr -d '\r' <"$serial" >"$serial.txt" && mv "$serial.txt" "$serial"
rc=$(sed -n 's/^MESH-VM-EXIT=\([0-9]*\).*/\1/p' "$serial" | tail -1)
grep -E '^(MESH-VM:|--- |ok |FAIL|PASS$)' "$serial" || true
if [ -z "$rc" ]; then
	tail -50 "$serial"
	log "the machine gave no result (timeout or crash); see $serial"
	exit 124
fi
if [ "$rc" != 0 ]; then
	log "tests failed under cgroup v2; the whole output is in $serial"
	exit "$rc"
fi
if grep -q '^--- SKIP' "$serial"; then
	grep -A2 '^--- SKIP' "$serial"
	log "a test skipped under cgroup v2, so what it covers went untested"
	exit 1
fi
n=$(grep -c '^--- PASS' "$serial" || true)
[ "$n" -gt 0 ] || { log "no test matched '$run'"; exit 1; }
log "$n tests passed under cgroup v2"
