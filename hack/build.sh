#!/usr/bin/env bash
# Build everything a kind cluster of RELEASE needs, offline, and write
# $CACHE/releases/<RELEASE>.json for the Python harness.
#   hack/build.sh RELEASE        (e.g. 1.28)
# Phases (each prints "[timing] <step> <seconds>s"; sub-steps print their own):
#   setup-docker → build-go (hack/build-go.sh; the Debian root filesystems meanwhile) → images
#   (components + test images, hack/build-images.sh) → node image (hack/build-node-image.sh) → test KMS
#   plugin (hack/build-kms-plugin.sh) → release json → the sig-node test drivers
#   (hack/build-test-drivers.sh) and the fake cloud-controller-manager (hack/build-fake-ccm.sh),
#   so that no test skips for a missing build.
# Every phase is cached/resumable; re-running after a failure continues.
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HACK_DIR/lib.sh"
CACHE="$KC_CACHE"

phase() {  # phase NAME CMD...: run CMD with its output shown, then print its time
  local name="$1" start rc=0; shift
  start=$(date +%s)
  "$@" || rc=$?
  echo "[timing] $name $(( $(date +%s) - start ))s"
  [[ $rc -eq 0 ]] || die "phase $name failed (exit $rc)"
}

write_release_json() {
  local go="$CACHE/releases/$RELEASE-go.json" imgs="$CACHE/releases/$RELEASE-images.json"
  local out="$CACHE/releases/$RELEASE.json" base containerd k8s_version node cni storage
  k8s_version="$(jq -er .kubernetes_version "$go")"
  base="$(jq -er .base "$imgs")"
  node="kindest/node:$k8s_version"
  docker image inspect "$node" >/dev/null || die "$node missing"
  containerd="$(docker run --rm --entrypoint containerd "$base" --version | awk '{print $3}' | sed 's/~.*//; s/^v//')"
  if [[ "$(jq '.cni | length' "$imgs")" -gt 0 ]]; then cni=kindnetd; else cni=bridge; fi
  if [[ "$(jq '.storage | length' "$imgs")" -gt 0 ]]; then storage=local-path; else storage=none; fi
  jq -n --arg release "$RELEASE" --arg kv "$k8s_version" --arg node "$node" \
    --arg kind "$(jq -er .kind "$go")" --arg kubectl "$(jq -er .k8s_bin "$go")/kubectl" \
    --arg busybox "$(jq -er .test.busybox "$imgs")" --arg agnhost "$(jq -er .test.agnhost "$imgs")" \
    --arg containerd "$containerd" --arg cni "$cni" --arg storage "$storage" \
    --arg node_id "$(docker image inspect -f '{{.Id}}' "$node")" '
    {release: $release, kubernetes_version: $kv, node_image: $node, node_image_id: $node_id,
     kind: $kind, kubectl: $kubectl,
     images: {busybox: $busybox, agnhost: $agnhost},
     containerd: $containerd, cni: $cni, storage: $storage}' >"$out.tmp"
  mv "$out.tmp" "$out"
  cat "$out"
}

main() {
  [[ $# -eq 1 ]] || die "usage: $0 RELEASE   (e.g. 1.28)"
  RELEASE="$1"
  local t0; t0=$(date +%s)
  step setup-docker -- "$HACK_DIR/setup-docker.sh"
  # The Debian root filesystems need no Go build: debootstrap them (network and disk, mostly)
  # while build-go compiles (CPU); images-total then finds them built. Their output is printed
  # once build-go is done; if they fail, images-total builds them again and reports it.
  local rootfs_log="$CACHE/logs/rootfs-$RELEASE.log" rootfs_pid
  mkdir -p "$CACHE/logs"
  "$HACK_DIR/build-images.sh" "$RELEASE" rootfs "$("$HACK_DIR/build-go.sh" "$RELEASE" --node-rootfs)" \
    proxy agnhost >"$rootfs_log" 2>&1 &
  rootfs_pid=$!
  trap 'kill "$rootfs_pid" 2>/dev/null || true' EXIT
  phase build-go-total "$HACK_DIR/build-go.sh" "$RELEASE"
  wait "$rootfs_pid" || log "root filesystems failed (images-total retries them): $rootfs_log"
  trap - EXIT
  cat "$rootfs_log"
  phase images-total "$HACK_DIR/build-images.sh" "$RELEASE" all
  phase node-image-total "$HACK_DIR/build-node-image.sh" "$RELEASE"
  phase kms-plugin "$HACK_DIR/build-kms-plugin.sh" "$RELEASE"   # the `kms` profile's plugin, ~1 min cold
  write_release_json   # (errexit applies: not run under step/phase)
  # After the release json: the cluster images are complete even if one of these fails.
  phase test-drivers "$HACK_DIR/build-test-drivers.sh" "$RELEASE" all
  phase fake-ccm "$HACK_DIR/build-fake-ccm.sh" "$RELEASE"
  echo "[timing] total $(( $(date +%s) - t0 ))s"
}

main "$@"; exit $?
