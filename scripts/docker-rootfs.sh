#!/bin/sh
# Completes the runtime image's filesystem under $1, which already holds
# usr/local/bin/cryptointellect: the shared libraries that binary links (as ldd lists them) and the
# loader, a static busybox as /bin/sh with its applets (for `docker exec … sh`), CA certificates,
# the user 10001, /tmp and /data. Runs in the Debian build image.
set -eu
root="${1:?usage: docker-rootfs.sh ROOT}"
binary="$root/usr/local/bin/cryptointellect"

copy() { # copy FILE: the file (symlinks followed) at the same path under $root
  mkdir -p "$root$(dirname "$1")"
  cp -L "$1" "$root$1"
}

# Shared libraries ("libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)") and the loader
# ("/lib64/ld-linux-x86-64.so.2 (0x…)").
libs=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ -n "$libs" ] || { echo "docker-rootfs: ldd found no libraries for $binary" >&2; exit 1; }
for lib in $libs; do copy "$lib"; done
# glibc loads libgcc_s at run time to unwind a cancelled thread; ldd cannot see that.
libc=$(ldd "$binary" | awk '$1 == "libc.so.6" { print $3 }')
if [ -e "$(dirname "$libc")/libgcc_s.so.1" ]; then copy "$(dirname "$libc")/libgcc_s.so.1"; fi

mkdir -p "$root/bin"
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

copy /etc/ssl/certs/ca-certificates.crt

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
cryptointellect:x:10001:10001:CryptoIntellect:/data:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
cryptointellect:x:10001:
nogroup:x:65534:
GROUP
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"

mkdir -p "$root/tmp" "$root/data" "$root/root"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
chown 10001:10001 "$root/data"
chmod 0755 "$root/usr/local/bin/cryptointellect" "$root/usr/local/bin/docker-entrypoint.sh"
