#!/usr/bin/env bash
# Installs the system packages weft's demo, tests and benchmarks need (Debian 12, as root).
# Idempotent: does nothing when everything is present. Usage: setup-system.sh [bench]
set -euo pipefail
need=()
want() { # want CMD PKG
  command -v "$1" >/dev/null 2>&1 || need+=("$2")
}
want ip iproute2
want iptables iptables
want nft nftables
want iperf3 iperf3
want ethtool ethtool
want tcpdump tcpdump
want ping iputils-ping
want nsenter util-linux
want ps procps
want g++ g++
want make make
want python3 python3
# CNI runtime tests: rootful podman (CNI backend) with runc, the reference plugins, a static busybox image.
want podman podman
want runc runc
want /usr/lib/cni/bridge containernetworking-plugins
want busybox busybox-static
# Re-recording the CNI fixtures of containerd's ctr (test/support/cni/record-runtime.ts ctr).
want containerd containerd
# Docker integration (issue 14): a real dockerd per simulated host, the image built from a local
# debootstrap base; DNS tests: a local upstream resolver (dnsmasq) and dig.
want dockerd docker.io
want debootstrap debootstrap
want dnsmasq dnsmasq-base
want dig dnsutils
# The web page (issue 13) is tested in Debian's headless Chromium, driven by playwright-core.
want chromium chromium
if [ "${1:-}" = "bench" ]; then
  want wireguard-go wireguard-go
  want wg wireguard-tools
  want tincd tinc
  want nebula nebula
  want fastd fastd
  want strace strace  # idle rows: programs a daemon starts (strace -f --seccomp-bpf)
fi
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-system: missing packages ${need[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "setup-system: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# iperf3's package may ask to start a daemon; make sure none runs.
systemctl disable --now iperf3 >/dev/null 2>&1 || true
exit 0
