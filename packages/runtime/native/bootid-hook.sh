#!/bin/sh
# sandboxd OCI prestart hook: the sandbox's own boot id over /proc/sys/kernel/random/boot_id (the
# kernel's is the host's, the same in every sandbox). A read-only bind of a per-sandbox file, made
# from the host (the sandbox has no CAP_SYS_ADMIN) in the container's mount namespace, after runc
# mounted its /proc and before pivot_root: runc itself refuses config mounts inside /proc.
#   args: BOOT_ID_FILE ROOTFS      stdin: OCI state JSON (its "pid" and "status")
# runc also runs prestart hooks during `runc restore`; CRIU restores this mount itself then (it is
# declared external in the sandbox's criu.conf), so only a container being created gets it here.
set -eu
file=$1 rootfs=$2
state=$(cat)
case $state in
*'"status":"creating"'*) ;;
*) exit 0 ;;
esac
pid=${state#*\"pid\":}
pid=${pid%%[!0-9]*}
[ -n "$pid" ] || { echo "bootid-hook: no pid in state" >&2; exit 1; }
nsenter -t "$pid" -m mount --bind -o ro "$file" "$rootfs/proc/sys/kernel/random/boot_id"
