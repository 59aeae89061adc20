#!/usr/bin/env bash
# Build, offline, every container image a kind cluster of RELEASE needs, from
# Debian packages (debootstrap) and the Go binaries of hack/build-go.sh.
#
#   hack/build-images.sh RELEASE [all|base|components|test]
#   hack/build-images.sh RELEASE rootfs NAME...
#     rootfs      only the named Debian root filesystems (node, node2, proxy, agnhost): needs no
#                 Go build, so hack/build.sh runs it while hack/build-go.sh compiles
#     base        Debian root filesystems (debootstrap) + kind node base image
#     components  kubeadm's images (apiserver, controller-manager, scheduler,
#                 kube-proxy, etcd, coredns, pause) + kindnetd + local-path-provisioner
#     test        e2e test images (busybox, agnhost)
#     all         all of the above (default)
#
# Every image is cached by a hash of its inputs (label kconformance.inputs):
# an image whose label matches is not rebuilt. Images are built untagged or
# under a temporary tag and get their final tag only when complete.
# Writes $CACHE/releases/<RELEASE>-images.json (image names, for the node image).
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HACK_DIR/lib.sh"
# Steps run in a child bash (lib.sh's `step` runs its command in a `||` context,
# where errexit is off): export every variable and function to it.
set -a
# shellcheck source=images/packages.sh
source "$HACK_DIR/images/packages.sh"
IMAGES_DIR="$HACK_DIR/images"
export DOCKER_BUILDKIT=0 BUILDKIT_PROGRESS=plain
CACHE="$KC_CACHE"
WORK="$CACHE/work/images"
mkdir -p "$WORK" "$CACHE/rootfs" "$CACHE/debootstrap/debs" "$CACHE/releases"

# ----------------------------------------------------------------- helpers
# xstep NAME CMD ARGS...: lib.sh's step, with CMD run by `bash -euo pipefail`
xstep() { local name="$1"; shift; step "$name" -- bash -c 'set -euo pipefail; "$@"' _ "$@"; }
sha() { sha256sum | cut -c1-16; }
# hash of files/dirs (content + mode + relative names)
hash_paths() {
  local p
  for p in "$@"; do
    if [[ -d "$p" ]]; then
      (cd "$p" && find . -type f -o -type l | LC_ALL=C sort | while read -r f; do
        printf '%s %s ' "$f" "$(stat -c %a "$f")"
        if [[ -L "$f" ]]; then readlink "$f"; else sha256sum <"$f" | cut -c1-64; fi
      done)
    else
      printf '%s ' "$(basename "$p")"; sha256sum <"$p" | cut -c1-64
    fi
  done | sha
}
# retag ID TAG: point TAG at ID and remove the image TAG pointed at before, if now unused
retag() {
  local old; old="$(docker image inspect -f '{{.Id}}' "$2" 2>/dev/null || true)"
  docker tag "$1" "$2"
  if [[ -n "$old" && "$old" != "$(docker image inspect -f '{{.Id}}' "$2")" ]]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
}
image_inputs() { docker image inspect -f '{{index .Config.Labels "kconformance.inputs"}}' "$1" 2>/dev/null || true; }
image_current() { [[ "$(image_inputs "$1")" == "$2" ]]; }
image_size() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.1fMB", $1/1000000}'; }

# docker_build TAG INPUTS CONTEXT [docker build args...]: build untagged, tag at the end
docker_build() {
  local tag="$1" inputs="$2" ctx="$3" iidf; shift 3
  iidf="$(mktemp)"
  docker build --iidfile "$iidf" --label "kconformance.inputs=$inputs" "$@" "$ctx"
  retag "$(cat "$iidf")" "$tag"
  rm -f "$iidf"
}

# import_tar TAG INPUTS TARFILE|- [--change ...]: docker import (one layer), tag at the end
import_tar() {
  local tag="$1" inputs="$2" src="$3" id; shift 3
  id="$(docker import --change "LABEL kconformance.inputs=$inputs" "$@" "$src")"
  retag "$id" "$tag"
}

# import_dir TAG INPUTS DIR [--change ...]: a one-layer image of DIR
import_dir() {
  local tag="$1" inputs="$2" dir="$3" id; shift 3
  id="$(tar --numeric-owner -C "$dir" -c . | docker import --change "LABEL kconformance.inputs=$inputs" "$@" -)"
  retag "$id" "$tag"
}

# ------------------------------------------------------- root filesystems
rootfs_hash() {
  local name="$1" pkgs_var="ROOTFS_PKGS_$1"
  # shellcheck disable=SC2046 # one word per package name: split on purpose
  printf '%s\n' "v2" "$DEBIAN_SUITE" "$DEBIAN_MIRROR" $(tr ' ' '\n' <<<"${!pkgs_var}" | LC_ALL=C sort -u) | sha
}

# debootstrap a minbase root filesystem with ROOTFS_PKGS_<name>, slimmed like
# debian:*-slim; result: $CACHE/rootfs/<name>-<hash>.tar
build_rootfs_tar() {
  local name="$1" hash="$2" pkgs_var="ROOTFS_PKGS_$1" out dir tmp
  out="$CACHE/rootfs/$name-$hash.tar"
  dir="$WORK/rootfs-$name"
  rm -rf "$dir"; mkdir -p "$dir"
  local include; include="$(tr -s ' \n' ',' <<<"${!pkgs_var}" | sed 's/^,//; s/,$//')"
  debootstrap --variant=minbase --include="$include" --cache-dir="$CACHE/debootstrap/debs" \
    "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR"
  # slim down (what debian:bookworm-slim leaves out) and make apt usable later
  chroot "$dir" apt-get clean
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/log/*.log \
    "$dir"/var/log/apt/* "$dir"/var/cache/debconf/*-old "$dir"/var/lib/dpkg/*-old \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
    "$dir"/usr/share/locale/* "$dir"/usr/share/lintian "$dir"/usr/share/linda
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$DEBIAN_MIRROR" "$DEBIAN_SUITE" \
    "$DEBIAN_MIRROR" "$DEBIAN_SUITE" >"$dir/etc/apt/sources.list"
  : >"$dir/etc/resolv.conf"; : >"$dir/etc/hostname"
  # iptables: Debian's default is nft; callers choose (see iptables-wrapper)
  tmp="$(tmp_for "$out")"
  tar --numeric-owner --xattrs -C "$dir" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$tmp" .
  commit_output "$tmp" "$out"
  rm -rf "$dir"
}

# ensure image kconformance/rootfs-<name>:<suite>-<hash>; sets ROOTFS_IMAGE_<name>
ensure_rootfs() {
  local name="$1" hash tag
  hash="$(rootfs_hash "$name")"
  tag="kconformance/rootfs-$name:$DEBIAN_SUITE-$hash"
  printf -v "ROOTFS_IMAGE_$name" '%s' "$tag"
  if image_current "$tag" "$hash"; then skip_step "rootfs-$name" "$tag"; return; fi
  if have_output "$CACHE/rootfs/$name-$hash.tar"; then
    skip_step "rootfs-$name-debootstrap" "$CACHE/rootfs/$name-$hash.tar"
  else
    xstep "rootfs-$name-debootstrap" build_rootfs_tar "$name" "$hash"
  fi
  xstep "rootfs-$name-import" import_tar "$tag" "$hash" "$CACHE/rootfs/$name-$hash.tar" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["bash"]'
}

# --------------------------------------------------------- node base image
stage_base_ctx() {  # stage_base_ctx CTX DOCKERFILE-DIR [SRC:DEST-in-context ...]
  local ctx="$1" dfdir="$2" files="$KIND_MODDIR/images/base/files" s; shift 2
  rm -rf "$ctx"; mkdir -p "$ctx/files"
  cp -r "$files/." "$ctx/files/"
  chmod -R u+w "$ctx/files"
  # kind: scripts and directories 0755, everything else 0644
  find "$ctx/files" -type d -exec chmod 0755 {} +
  find "$ctx/files" -type f -exec chmod 0644 {} +
  chmod 0755 "$ctx"/files/usr/local/bin/* "$ctx"/files/kind/bin/*
  cp "$IMAGES_DIR/$dfdir/Dockerfile" "$ctx/Dockerfile"
  for s in "$@"; do  # extra binaries (containerd 2.x, runc): 0755
    mkdir -p "$ctx/$(dirname "${s#*:}")"
    cp -L "${s%%:*}" "$ctx/${s#*:}"; chmod 0755 "$ctx/${s#*:}"
  done
}

build_base() {
  local rootfs_var="ROOTFS_IMAGE_$NODE_ROOTFS" inputs tag ctx cid id
  local rootfs="${!rootfs_var}"
  ctx="$WORK/base-ctx"
  if [[ -n "$CONTAINERD_DIR" ]]; then
    # kind >= v0.27 (containerd 2.x config): containerd + shim + ctr and runc
    # from hack/build-go.sh instead of Debian's packages
    stage_base_ctx "$ctx" base-containerd2 \
      "$CONTAINERD_DIR/containerd:bin/containerd" \
      "$CONTAINERD_DIR/containerd-shim-runc-v2:bin/containerd-shim-runc-v2" \
      "$CONTAINERD_DIR/ctr:bin/ctr" "$RUNC_BIN:bin/runc"
  else
    stage_base_ctx "$ctx" base
  fi
  inputs="$( { echo "$rootfs"; hash_paths "$ctx"; } | sha)"
  tag="kconformance/base:$DEBIAN_SUITE-$inputs"
  BASE_IMAGE="$tag"
  if image_current "$tag" "$inputs"; then skip_step base-image "$tag"; return; fi
  xstep base-image-build docker_build "kconformance/base-unsquashed:$inputs" "$inputs" "$ctx" \
    --build-arg "ROOTFS_IMAGE=$rootfs"
  # squash to one layer (docker export | docker import), then add the metadata
  # kind's image has (docker import cannot set STOPSIGNAL: a metadata-only build)
  base_squash() {
    local cid id
    cid="$(docker create "kconformance/base-unsquashed:$1" true)"
    id="$(docker export "$cid" | docker import -)"
    docker rm -f "$cid" >/dev/null
    printf '%s\n' "FROM $id" 'ENV container=docker' \
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      'STOPSIGNAL SIGRTMIN+3' \
      'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
      | docker_build "$2" "$1" -
    docker rmi "kconformance/base-unsquashed:$1" >/dev/null
  }
  xstep base-image-squash base_squash "$inputs" "$tag"
}

# ------------------------------------------------------------ go manifest
load_go_manifest() {
  local m="$CACHE/releases/$RELEASE-go.json"
  [[ -s "$m" || -n "${KIND_MODDIR:-}" ]] || die "$m missing: run hack/build-go.sh $RELEASE first"
  GO_MANIFEST="$m"
  gj() { jq -er "$1" "$GO_MANIFEST"; }
  KIND_MODDIR="${KIND_MODDIR:-$(jq -r '.kind_module_dir // empty' "$m")}"
  [[ -d "$KIND_MODDIR/images/base/files" ]] || die "kind module dir unknown (no kind_module_dir in $m; set KIND_MODDIR)"
  # a built containerd 2.x + runc (1.36+): node base from rootfs "node2" without
  # Debian's containerd/runc; else (1.28) Debian's containerd 1.6 on rootfs "node"
  CONTAINERD_DIR="$(jq -r '.containerd.dir // empty' "$m")"
  RUNC_BIN="$(jq -r '.runc.runc // empty' "$m")"
  if [[ -n "$CONTAINERD_DIR" ]]; then
    [[ -n "$RUNC_BIN" ]] || die "$m has a containerd but no runc"
    NODE_ROOTFS=node2
  else
    NODE_ROOTFS=node
  fi
}

load_go_manifest_full() {
  GO_COMPLETE="$(jq -r .complete "$GO_MANIFEST")"
  K8S_VERSION="$(gj .kubernetes_version)"
  K8S_BIN="$(gj .k8s_bin)"
  ETCD_DIR="$(gj .etcd.dir)"
  COREDNS_BIN="$(gj .coredns.coredns)"
  PAUSE_BIN="$(gj .pause.pause)"
  AGNHOST_VERSION="$(jq -r '.agnhost.version // empty' "$GO_MANIFEST")"
  AGNHOST_BIN="$(jq -r '.agnhost.path // empty' "$GO_MANIFEST")"
  KINDNETD_BIN="$(jq -r '.kindnetd.path // empty' "$GO_MANIFEST")"
  LPP_BIN="$(jq -r '.local_path_provisioner.path // empty' "$GO_MANIFEST")"
  local list
  list="$("$K8S_BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)"
  IMG_APISERVER="$(grep /kube-apiserver: <<<"$list")"
  IMG_CM="$(grep /kube-controller-manager: <<<"$list")"
  IMG_SCHED="$(grep /kube-scheduler: <<<"$list")"
  IMG_PROXY="$(grep /kube-proxy: <<<"$list")"
  IMG_ETCD="$(grep /etcd: <<<"$list")"
  IMG_COREDNS="$(grep /coredns: <<<"$list")"
  IMG_PAUSE="$(grep /pause: <<<"$list")"
  # images the kind version's default manifests reference (pkg/build/nodeimage/const_*.go)
  IMG_KINDNETD="$(sed -n 's/^const kindnetdImage = "\(.*\)"/\1/p' "$KIND_MODDIR/pkg/build/nodeimage/const_cni.go")"
  IMG_LPP="$(sed -n 's/^const storageProvisionerImage = "\(.*\)"/\1/p' "$KIND_MODDIR/pkg/build/nodeimage/const_storage.go")"
  IMG_LPP_HELPER="$(sed -n 's/^const storageHelperImage = "\(.*\)"/\1/p' "$KIND_MODDIR/pkg/build/nodeimage/const_storage.go")"
  IMG_BUSYBOX="registry.k8s.io/e2e-test-images/busybox:1.36.1-1"
  IMG_AGNHOST="registry.k8s.io/e2e-test-images/agnhost:$AGNHOST_VERSION"
}

# --------------------------------------------------------- static images
# a tiny root: passwd/group/nsswitch, /tmp, CA bundle (what distroless/static has)
stage_static_root() {
  local root="$1"
  mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/root" "$root/home/nonroot" "$root/usr/local/bin"
  chmod 1777 "$root/tmp"; chmod 700 "$root/root"
  cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
P
  cat >"$root/etc/group" <<'G'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
G
  echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  chown -R 65532:65532 "$root/home/nonroot"
}

# static_image TAG NAME "ENTRYPOINT [...]"|"CMD [...]"|"" "USER|" SRC:DEST ...
static_image() {
  local tag="$1" name="$2" entry="$3" user="$4" ctx inputs s changes=(); shift 4
  ctx="$WORK/ctx-$name"; rm -rf "$ctx"; mkdir -p "$ctx"
  stage_static_root "$ctx"
  for s in "$@"; do
    mkdir -p "$ctx$(dirname "${s#*:}")"
    cp -L "${s%%:*}" "$ctx${s#*:}"; chmod 0755 "$ctx${s#*:}"
  done
  inputs="$( { echo "static-v1 $entry $user"; hash_paths "$ctx"; } | sha)"
  if image_current "$tag" "$inputs"; then skip_step "image-$name" "$tag"; return; fi
  changes=(--change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin')
  [[ -n "$entry" ]] && changes+=(--change "$entry")
  [[ -n "$user" ]] && changes+=(--change "USER $user")
  xstep "image-$name" import_dir "$tag" "$inputs" "$ctx" "${changes[@]}"
}

# image from a Dockerfile in hack/images/NAME with a staged context
# dockerfile_image TAG NAME BASEIMAGE SRC:DEST-in-context ...
dockerfile_image() {
  local tag="$1" name="$2" base="$3" ctx inputs s; shift 3
  ctx="$WORK/ctx-$name"; rm -rf "$ctx"; mkdir -p "$ctx"
  cp -r "$IMAGES_DIR/$name/." "$ctx/"
  for s in "$@"; do
    mkdir -p "$ctx/$(dirname "${s#*:}")"
    cp -L "${s%%:*}" "$ctx/${s#*:}"
    # executables keep 0755 (set here: a RUN chmod would copy them into a 2nd layer)
    if [[ -x "${s%%:*}" ]]; then chmod 0755 "$ctx/${s#*:}"; else chmod 0644 "$ctx/${s#*:}"; fi
  done
  inputs="$( { echo "$base"; hash_paths "$ctx"; } | sha)"
  if image_current "$tag" "$inputs"; then skip_step "image-$name" "$tag"; return; fi
  xstep "image-$name" docker_build "$tag" "$inputs" "$ctx" --build-arg "BASEIMAGE=$base"
}

build_components() {
  local kb="$K8S_BIN"
  static_image "$IMG_APISERVER" kube-apiserver "" "" "$kb/kube-apiserver:/usr/local/bin/kube-apiserver"
  static_image "$IMG_CM" kube-controller-manager "" "" "$kb/kube-controller-manager:/usr/local/bin/kube-controller-manager"
  static_image "$IMG_SCHED" kube-scheduler "" "" "$kb/kube-scheduler:/usr/local/bin/kube-scheduler"
  static_image "$IMG_ETCD" etcd 'CMD ["/usr/local/bin/etcd"]' "" \
    "$ETCD_DIR/etcd:/usr/local/bin/etcd" "$ETCD_DIR/etcdctl:/usr/local/bin/etcdctl"
  static_image "$IMG_COREDNS" coredns 'ENTRYPOINT ["/coredns"]' "" "$COREDNS_BIN:/coredns"
  static_image "$IMG_PAUSE" pause 'ENTRYPOINT ["/pause"]' "65535:65535" "$PAUSE_BIN:/pause"
  # shellcheck disable=SC2154 # ROOTFS_IMAGE_<name> is set by ensure_rootfs (printf -v)
  dockerfile_image "$IMG_PROXY" kube-proxy "$ROOTFS_IMAGE_proxy" "$kb/kube-proxy:kube-proxy" \
    "$IMAGES_DIR/iptables-wrapper:iptables-wrapper"
  if [[ -n "$KINDNETD_BIN" ]]; then
    dockerfile_image "$IMG_KINDNETD" kindnetd "$ROOTFS_IMAGE_proxy" "$KINDNETD_BIN:kindnetd" \
      "$IMAGES_DIR/iptables-wrapper:iptables-wrapper"
  fi
  if [[ -n "$LPP_BIN" ]]; then
    static_image "$IMG_LPP" local-path-provisioner 'ENTRYPOINT ["/usr/local/bin/local-path-provisioner"]' "" \
      "$LPP_BIN:/usr/local/bin/local-path-provisioner"
  fi
}

# ------------------------------------------------------------ test images
busybox_deb() {  # extract busybox-static's /bin/busybox from the debootstrap cache or apt
  local out="$WORK/busybox-static" deb
  mkdir -p "$out"
  # shellcheck disable=SC2012 # Debian package file names have no blanks; ls sorts them
  deb="$(ls "$CACHE"/debootstrap/debs/busybox-static_*.deb 2>/dev/null | tail -1 || true)"
  if [[ -z "$deb" ]]; then
    (cd "$out" && apt-get download busybox-static >&2)
    # shellcheck disable=SC2012 # as above
    deb="$(ls "$out"/busybox-static_*.deb | tail -1)"
  fi
  rm -rf "$out/x"; dpkg-deb -x "$deb" "$out/x"
  echo "$out/x/bin/busybox"
}

build_test_images() {
  local bb ctx inputs
  bb="$(busybox_deb)"
  # busybox: /bin/busybox + one symlink per applet, like the upstream busybox image
  ctx="$WORK/ctx-busybox"; rm -rf "$ctx"; mkdir -p "$ctx/bin"
  stage_static_root "$ctx"
  sed -i 's#/sbin/nologin#/bin/sh#' "$ctx/etc/passwd"
  cp "$bb" "$ctx/bin/busybox"; chmod 0755 "$ctx/bin/busybox"
  local a
  for a in $("$bb" --list); do
    [[ "$a" == busybox ]] || ln -sf busybox "$ctx/bin/$a"
  done
  mkdir -p "$ctx/usr/bin" "$ctx/usr/sbin" "$ctx/sbin" "$ctx/var/spool/mail" "$ctx/home"
  inputs="$( { echo busybox-v1; hash_paths "$ctx"; } | sha)"
  if image_current "$IMG_BUSYBOX" "$inputs"; then skip_step image-busybox "$IMG_BUSYBOX"
  else
    xstep image-busybox import_dir "$IMG_BUSYBOX" "$inputs" "$ctx" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["sh"]'
  fi
  # local-path-provisioner's helper pod only needs sh, mkdir, rm: the busybox image
  if [[ -n "$LPP_BIN" ]]; then docker tag "$IMG_BUSYBOX" "$IMG_LPP_HELPER"; fi

  # agnhost: upstream test/images/agnhost/Dockerfile on Debian instead of alpine
  local kdir porter
  kdir="$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -er .Dir)"
  porter="$kdir/test/images/agnhost/porter"
  # shellcheck disable=SC2154 # ROOTFS_IMAGE_<name> is set by ensure_rootfs (printf -v)
  dockerfile_image "$IMG_AGNHOST" agnhost "$ROOTFS_IMAGE_agnhost" \
    "$AGNHOST_BIN:agnhost" "$COREDNS_BIN:coredns" \
    "$porter/localhost.crt:localhost.crt" "$porter/localhost.key:localhost.key"
}

write_images_json() {
  local f="$CACHE/releases/$RELEASE-images.json"
  jq -n --arg base "$BASE_IMAGE" --arg apiserver "$IMG_APISERVER" --arg cm "$IMG_CM" \
    --arg sched "$IMG_SCHED" --arg proxy "$IMG_PROXY" --arg etcd "$IMG_ETCD" \
    --arg coredns "$IMG_COREDNS" --arg pause "$IMG_PAUSE" \
    --arg kindnetd "$([[ -n "$KINDNETD_BIN" ]] && echo "$IMG_KINDNETD")" \
    --arg lpp "$([[ -n "$LPP_BIN" ]] && echo "$IMG_LPP")" \
    --arg lpphelper "$([[ -n "$LPP_BIN" ]] && echo "$IMG_LPP_HELPER")" \
    --arg busybox "$IMG_BUSYBOX" --arg agnhost "$IMG_AGNHOST" '
    {base: $base,
     kubeadm: [$apiserver, $cm, $sched, $proxy, $etcd, $coredns, $pause],
     pause: $pause,
     cni: (if $kindnetd == "" then [] else [$kindnetd] end),
     storage: (if $lpp == "" then [] else [$lpp, $lpphelper] end),
     test: {busybox: $busybox, agnhost: $agnhost}}' >"$f.tmp"
  mv "$f.tmp" "$f"
  log "wrote $f"
  local i
  for i in "$BASE_IMAGE" $(jq -r '.kubeadm[], .cni[], .storage[], .test[]' "$f"); do
    printf '[image] %-70s %s\n' "$i" "$(image_size "$i")"
  done
}

main() {
  [[ $# -ge 1 ]] || die "usage: $0 RELEASE [all|base|components|test]"
  RELEASE="$1"; local what="${2:-all}"
  docker info >/dev/null 2>&1 || die "docker does not answer: run hack/setup-docker.sh"
  if [[ "$what" == rootfs ]]; then
    shift 2
    local name pkgs_var
    for name in "$@"; do
      pkgs_var="ROOTFS_PKGS_$name"
      [[ -n "${!pkgs_var:-}" ]] || die "no root filesystem '$name' in $IMAGES_DIR/packages.sh"
      ensure_rootfs "$name"
    done
    return
  fi
  load_go_manifest
  case "$what" in
    base) ensure_rootfs "$NODE_ROOTFS"; build_base; ensure_rootfs proxy; ensure_rootfs agnhost; return ;;
    all|components|test) ;;
    *) die "unknown target $what" ;;
  esac
  load_go_manifest_full
  ensure_rootfs "$NODE_ROOTFS"; build_base
  ensure_rootfs proxy
  ensure_rootfs agnhost
  if [[ "$what" == all || "$what" == components ]]; then build_components; fi
  if [[ "$what" == all || "$what" == test ]]; then
    [[ -n "$AGNHOST_BIN" ]] || die "no agnhost in $GO_MANIFEST yet"
    build_test_images
  fi
  if [[ "$what" == all ]]; then
    [[ "$GO_COMPLETE" == true ]] || log "warning: $GO_MANIFEST is not complete (build-go.sh still running?)"
    write_images_json
  fi
}

mapfile -t functions < <(compgen -A function)
export -f "${functions[@]}"
main "$@"; exit $?
