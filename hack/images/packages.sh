# Debian package sets for the debootstrap'd root filesystems (sourced by build-images.sh).
# Changing a list changes the rootfs hash and so the image tags built on it.
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${KC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# kind node base (kind v0.25.0 images/base/Dockerfile list, minus open-iscsi,
# plus Debian's containerd/runc/CNI plugins instead of kind's own builds).
ROOTFS_PKGS_node="systemd conntrack iptables nftables iproute2 ethtool util-linux mount kmod
  libseccomp2 pigz fuse-overlayfs nfs-common bash ca-certificates curl jq procps
  containerd runc containernetworking-plugins socat ebtables ipset"

# kube-proxy (upstream: distroless-iptables = iptables, ip6tables, conntrack, ipset)
ROOTFS_PKGS_proxy="iptables conntrack ipset kmod"

# agnhost (upstream: alpine + bind-tools curl netcat-openbsd iproute2 iperf bash)
ROOTFS_PKGS_agnhost="dnsutils curl netcat-openbsd iproute2 iperf bash ca-certificates busybox-static"

# kind node base for releases whose go manifest has a built containerd 2.x + runc
# (kind >= v0.27 images, e.g. 1.36 / kind v0.32.0): kind v0.32.0's package list
# (which adds e2fsprogs) minus open-iscsi, and without Debian's containerd / runc /
# CNI plugins (the built ones are copied in by hack/images/base-containerd2/Dockerfile).
ROOTFS_PKGS_node2="systemd conntrack iptables nftables iproute2 ethtool util-linux mount kmod
  libseccomp2 pigz fuse-overlayfs nfs-common e2fsprogs bash ca-certificates curl jq procps
  socat ebtables ipset"
