#!/usr/bin/env bash
# Build the kind node image kindest/node:<kubernetes version> for RELEASE, offline,
# the way kind v0.25.0's `kind build node-image` lays it out
# (sigs.k8s.io/kind pkg/build/nodeimage/buildcontext.go):
#   - start a container of the base image (hack/build-images.sh base) with `sleep`;
#   - /usr/bin/{kubeadm,kubelet,kubectl} (+ /usr/local/bin/crictl), /kind/version;
#   - /kind/manifests/default-cni.yaml and default-storage.yaml (kind's own
#     manifests when kindnetd / local-path-provisioner were built, else the
#     fallbacks in hack/images/cni-bridge);
#   - containerd's sandbox_image = kubeadm's pause image;
#   - every image kubeadm needs + CNI + storage + test images imported into
#     containerd's k8s.io namespace (ctr images import --all-platforms --no-unpack --digests);
#   - docker commit with ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"],
#     untagged, then tagged kindest/node:<version>.
# Usage: hack/build-node-image.sh RELEASE     (needs <RELEASE>-go.json, <RELEASE>-images.json)
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HACK_DIR/lib.sh"
set -a
CACHE="$KC_CACHE"
IMAGES_DIR="$HACK_DIR/images"
xstep() { local name="$1"; shift; step "$name" -- bash -c 'set -euo pipefail; "$@"' _ "$@"; }
sha() { sha256sum | cut -c1-16; }

load() {
  GO_MANIFEST="$CACHE/releases/$RELEASE-go.json"
  IMAGES_JSON="$CACHE/releases/$RELEASE-images.json"
  [[ -s "$GO_MANIFEST" ]] || die "$GO_MANIFEST missing (hack/build-go.sh $RELEASE)"
  [[ -s "$IMAGES_JSON" ]] || die "$IMAGES_JSON missing (hack/build-images.sh $RELEASE)"
  K8S_VERSION="$(jq -er .kubernetes_version "$GO_MANIFEST")"
  K8S_BIN="$(jq -er .k8s_bin "$GO_MANIFEST")"
  CRICTL="$(jq -er .crictl "$GO_MANIFEST")"
  KIND_MODDIR="$(jq -er .kind_module_dir "$GO_MANIFEST")"
  # CNI plugins built from source at kind's version, if build-go.sh made them
  # (else the base image's links to Debian's containernetworking-plugins stay)
  CNI_PLUGINS_DIR="$(jq -r '.cni_plugins.dir // empty' "$GO_MANIFEST")"
  CNI_PLUGINS="$(jq -r '.cni_plugins.plugins // [] | join(" ")' "$GO_MANIFEST")"
  BASE_IMAGE="$(jq -er .base "$IMAGES_JSON")"
  PAUSE_IMAGE="$(jq -er .pause "$IMAGES_JSON")"
  PRELOAD="$(jq -r '.kubeadm[], .cni[], .storage[], .test[]' "$IMAGES_JSON" | tr '\n' ' ')"
  NODE_IMAGE="kindest/node:$K8S_VERSION"
  if [[ "$(jq -r '.cni | length' "$IMAGES_JSON")" -gt 0 ]]; then CNI=kindnetd; else CNI=bridge; fi
  if [[ "$(jq -r '.storage | length' "$IMAGES_JSON")" -gt 0 ]]; then STORAGE=local-path; else STORAGE=none; fi
}

stage_files() {  # $1 = dir: everything that goes into the node besides images
  local d="$1" nm="$KIND_MODDIR/pkg/build/nodeimage"
  rm -rf "$d"; mkdir -p "$d/bin" "$d/manifests" "$d/cni" "$d/cni-bin"
  cp -L "$K8S_BIN/kubeadm" "$K8S_BIN/kubelet" "$K8S_BIN/kubectl" "$CRICTL" "$d/bin/"
  local p
  for p in $CNI_PLUGINS; do cp -L "$CNI_PLUGINS_DIR/$p" "$d/cni-bin/$p"; chmod 0755 "$d/cni-bin/$p"; done
  printf '%s' "$K8S_VERSION" >"$d/version"
  if [[ "$CNI" == kindnetd ]]; then
    python3 "$IMAGES_DIR/extract-kind-manifest.py" "$nm/const_cni.go" defaultCNIManifest >"$d/manifests/default-cni.yaml"
  else
    cp "$IMAGES_DIR/cni-bridge/default-cni.yaml" "$d/manifests/default-cni.yaml"
    cp "$IMAGES_DIR/cni-bridge/10-kconformance-bridge.conflist" "$d/cni/"
  fi
  if [[ "$STORAGE" == local-path ]]; then
    python3 "$IMAGES_DIR/extract-kind-manifest.py" "$nm/const_storage.go" defaultStorageManifest >"$d/manifests/default-storage.yaml"
  else
    # kind applies this file unconditionally (and `kubectl apply` refuses an empty
    # one): a ConfigMap that only records that there is no default StorageClass
    cp "$IMAGES_DIR/storage-none/default-storage.yaml" "$d/manifests/default-storage.yaml"
  fi
}

inputs_hash() {
  local i
  {
    echo "node-v1 $NODE_IMAGE $PAUSE_IMAGE $CNI $STORAGE"
    docker image inspect -f '{{.Id}}' "$BASE_IMAGE"
    for i in $PRELOAD; do echo "$i $(docker image inspect -f '{{.Id}}' "$i")"; done
    (cd "$STAGE" && find . -type f | LC_ALL=C sort | xargs sha256sum)
    sha256sum <"$HACK_DIR/build-node-image.sh"
  } | sha
}

build_node() {
  local inputs="$1" cid="kc-nodebuild-$$" id missing=""
  docker rm -f -v "$cid" >/dev/null 2>&1 || true
  trap 'docker rm -f -v "'"$cid"'" >/dev/null 2>&1 || true' EXIT
  docker run -d --entrypoint=sleep --name="$cid" --security-opt seccomp=unconfined "$BASE_IMAGE" infinity
  local b
  for b in kubeadm kubelet kubectl; do docker cp "$STAGE/bin/$b" "$cid:/usr/bin/$b"; done
  docker cp "$STAGE/bin/crictl" "$cid:/usr/local/bin/crictl"
  docker exec "$cid" chmod 0755 /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl /usr/local/bin/crictl
  docker exec "$cid" chown root:root /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl /usr/local/bin/crictl
  docker cp "$STAGE/version" "$cid:/kind/version"
  docker exec "$cid" mkdir -p /kind/manifests /etc/cni/net.d
  docker cp "$STAGE/manifests/." "$cid:/kind/manifests/"
  if [[ -n "$(ls "$STAGE/cni")" ]]; then docker cp "$STAGE/cni/." "$cid:/etc/cni/net.d/"; fi
  if [[ -n "$(ls "$STAGE/cni-bin")" ]]; then
    docker exec "$cid" bash -c 'cd /opt/cni/bin && rm -f '"$CNI_PLUGINS"
    docker cp "$STAGE/cni-bin/." "$cid:/opt/cni/bin/"
    docker exec "$cid" chown -R root:root /opt/cni/bin
  fi
  docker exec "$cid" ls -l /opt/cni/bin
  docker exec "$cid" chmod -R a+rX /kind /etc/cni/net.d
  docker exec "$cid" sed -i "s#^\(\s*sandbox_image\s*=\s*\).*#\1\"$PAUSE_IMAGE\"#" /etc/containerd/config.toml
  docker exec "$cid" grep -q "sandbox_image = \"$PAUSE_IMAGE\"" /etc/containerd/config.toml
  # This VM's capability bounding set lacks CAP_SYS_RESOURCE, so the node container
  # has no CAP_SYS_RESOURCE and runc cannot lower oom_score_adj below containerd's
  # own (pod sandboxes get -998: "runc create failed: unable to start container
  # process: can't get final child's PID from pipe: EOF"). With
  # restrict_oom_score_adj containerd clamps to its own value instead (a no-op where
  # containerd does run at OOMScoreAdjust=-999).
  docker exec "$cid" sed -i 's/^\(\s*restrict_oom_score_adj\s*=\s*\).*/\1true/' /etc/containerd/config.toml
  docker exec "$cid" grep -q "restrict_oom_score_adj = true" /etc/containerd/config.toml
  docker exec "$cid" kubeadm version -o short
  # preload images (kind: imageimporter.go)
  docker exec "$cid" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
  for _ in $(seq 1 30); do docker exec "$cid" ctr version >/dev/null 2>&1 && break; sleep 1; done
  # shellcheck disable=SC2086
  docker save $PRELOAD | docker exec -i "$cid" ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests -
  local have; have="$(docker exec "$cid" ctr --namespace=k8s.io images list -q)"
  for i in $PRELOAD; do
    grep -qxF "$i" <<<"$have" || grep -qxF "docker.io/$i" <<<"$have" || missing+=" $i"
  done
  [[ -z "$missing" ]] || { echo "not imported:$missing"; echo "$have"; return 1; }
  echo "$have"
  docker exec "$cid" pkill containerd
  for _ in $(seq 1 30); do docker exec "$cid" pgrep -x containerd >/dev/null || break; sleep 1; done
  docker exec "$cid" rm -rf /tmp/containerd.log /run/containerd
  id="$(docker commit \
    --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change 'ENV HTTP_PROXY="" HTTPS_PROXY="" NO_PROXY=""' \
    --change "LABEL kconformance.inputs=$inputs" \
    "$cid")"
  local old; old="$(docker image inspect -f '{{.Id}}' "$NODE_IMAGE" 2>/dev/null || true)"
  docker tag "$id" "$NODE_IMAGE"
  if [[ -n "$old" && "$old" != "$id" ]]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
  docker image inspect -f '{{.Size}}' "$NODE_IMAGE"
}

main() {
  [[ $# -eq 1 ]] || die "usage: $0 RELEASE"
  RELEASE="$1"
  docker info >/dev/null 2>&1 || die "docker does not answer: run hack/setup-docker.sh"
  load
  STAGE="$CACHE/work/node-$RELEASE"
  stage_files "$STAGE"
  local inputs; inputs="$(inputs_hash)"
  if [[ "$(docker image inspect -f '{{index .Config.Labels "kconformance.inputs"}}' "$NODE_IMAGE" 2>/dev/null)" == "$inputs" ]]; then
    skip_step node-image "$NODE_IMAGE"
  else
    xstep node-image build_node "$inputs"
  fi
  log "$NODE_IMAGE: $(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | awk '{printf "%.1fMB", $1/1000000}') (cni=$CNI storage=$STORAGE)"
}

mapfile -t functions < <(compgen -A function)
export -f "${functions[@]}"
main "$@"; exit $?
