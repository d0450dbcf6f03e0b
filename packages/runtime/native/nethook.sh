#!/bin/sh
# sandboxd OCI prestart hook: plumbs the sandbox's network namespace (created by runc, owned by
# the sandbox's user namespace, which CRIU requires) to the host.
#   args: VETH HOST_CIDR SANDBOX_CIDR      stdin: OCI state JSON (we need its "pid")
# runc re-runs prestart hooks during `runc restore`, with the new pid, so this must be re-runnable.
set -eu
veth=$1 host_cidr=$2 sandbox_cidr=$3
state=$(cat)
pid=${state#*\"pid\":}
pid=${pid%%[!0-9]*}
[ -n "$pid" ] || { echo "nethook: no pid in state" >&2; exit 1; }
# After a checkpoint the old netns is freed asynchronously and its veth may still exist.
[ -e "/sys/class/net/$veth" ] && ip link del "$veth" 2>/dev/null || true
ip -batch - <<EOB
link add $veth type veth peer name eth0 netns $pid
addr add $host_cidr dev $veth
EOB
# No IPv6 on the host side: a link-local address would let the sandbox reach host services on ::
# past the IPv4-only firewall. Strict reverse-path filtering drops spoofed source addresses.
echo 1 > "/proc/sys/net/ipv6/conf/$veth/disable_ipv6"
echo 1 > "/proc/sys/net/ipv4/conf/$veth/rp_filter"
ip link set "$veth" up
nsenter -t "$pid" -n ip -batch - <<EOB
addr add $sandbox_cidr dev eth0
link set eth0 up
link set lo up
EOB
