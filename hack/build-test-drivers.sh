#!/usr/bin/env bash
# Build, offline (Go module proxy only), the node-side test programs the sig-node tests of
# device plugins, the PodResources API and Dynamic Resource Allocation need, for RELEASE:
#
#   hack/build-test-drivers.sh RELEASE [all|podresources|device-plugin|dra]   (e.g. 1.28)
#
#   podresources   hack/go/podresources-client built against k8s.io/kubelet of the release
#                  (a small static gRPC client of /var/lib/kubelet/pod-resources/kubelet.sock)
#   device-plugin  k8s.io/kubernetes/test/images/sample-device-plugin of the release, and a
#                  one-layer image registry.k8s.io/e2e-test-images/sample-device-plugin:<VERSION>
#                  of it (the release's VERSION file); the tests load it into their cluster
#   dra            k8s.io/kubernetes/test/e2e/dra/test-driver of the release (controller and
#                  kubelet plugin in one binary; the tests run the controller on this host and
#                  the kubelet plugin inside the kind node)
#
# Needs hack/build-go.sh RELEASE first (its wrapper module and module cache). Every output is
# cached by version under $KC_CACHE/tools/, built under a temporary name and moved into place
# when complete; a re-run skips what exists and resumes after a failure. A failed step names
# itself (lib.sh). Result: $KC_CACHE/releases/<RELEASE>-test-drivers.json, read by the tests
# (a test whose program is missing skips, naming this script).
# hack/build.sh runs it (all) after the node image; the device plugin and the DRA driver compile
# much of k8s.io/kubernetes (several minutes cold on two cores).
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HACK_DIR/lib.sh"

setup() {
  RELEASE="$1"
  WRAPPER="$HACK_DIR/go/k8s-$RELEASE"
  [[ -s "$WRAPPER/go.mod" ]] || die "$WRAPPER/go.mod missing: run hack/build-go.sh $RELEASE first"
  # the version the release's binaries are built from: hack/build-go.sh's wrapper module
  K8S_VERSION="$(wrapper_k8s_version "$WRAPPER")"
  [[ -n "$K8S_VERSION" ]] || die "no 'require k8s.io/kubernetes' in $WRAPPER/go.mod"
  STAGING_VERSION="v0.${K8S_VERSION#v1.}"
  MANIFEST="$KC_CACHE/releases/$RELEASE-test-drivers.json"
  WORK="$KC_CACHE/work"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOOS=linux GOARCH=amd64
  export GOFLAGS="-buildvcs=false -mod=mod"
  GOPROXY="${GOPROXY:-https://proxy.golang.org}"; GOPROXY="${GOPROXY//,direct/}"; GOPROXY="${GOPROXY//|direct/}"
  [[ "$GOPROXY" == direct || -z "$GOPROXY" ]] && GOPROXY=https://proxy.golang.org
  export GOPROXY
  mkdir -p "$KC_CACHE/tools" "$WORK"
}

# k8s_toolchain RELEASE: the Go hack/build-go.sh builds the release's kubernetes with (its
# release table's GO_TOOLCHAIN; "local" = the installed Go)
k8s_toolchain() {
  sed -n "/^    $1)\$/,/;;/s/.*GO_TOOLCHAIN=\([^ ]*\).*/\1/p" "$HACK_DIR/build-go.sh" | head -1
}

mset() { json_set "$MANIFEST" "$@"; }
jstr() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
k8s_dir() { (cd "$WORK" && GOTOOLCHAIN=local go mod download -json "k8s.io/kubernetes@$1" | jq -er .Dir); }
wrapper_k8s_version() { sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$1/go.mod"; }

# go build, niced (the machine's cores are shared), static, inside module DIR, with the build
# tags of need_k8s_toolchain (BUILD_TAGS)
gobuild() {  # gobuild DIR OUT PKG
  cd "$1" && go version && nice -n 10 go build -trimpath -tags "${BUILD_TAGS:-}" -ldflags "-s -w" -o "$2" "$3" &&
    file "$2" | grep -q 'statically linked'
}

build_podresources() {
  local dir="$KC_CACHE/tools/podresources-client-$STAGING_VERSION" mod="$WORK/podresources-client-$STAGING_VERSION" tmp
  if have_output "$dir/podresources-client"; then
    skip_step "podresources-client-$STAGING_VERSION" "$dir"
  else
    mkdir -p "$mod"
    cp "$HACK_DIR/go/podresources-client/main.go" "$mod/main.go"
    if ! grep -q "^require k8s.io/kubelet $STAGING_VERSION\$" "$mod/go.mod" 2>/dev/null; then
      printf 'module kconformance.local/podresources-client\n\ngo 1.20\n\nrequire k8s.io/kubelet %s\n' \
        "$STAGING_VERSION" >"$mod/go.mod"
      rm -f "$mod/go.sum"
    fi
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    tidy_build() { (cd "$1" && go mod tidy) && gobuild "$1" "$2" .; }
    step "podresources-client-$STAGING_VERSION" -- tidy_build "$mod" "$tmp/podresources-client"
    commit_output "$tmp" "$dir"
  fi
  mset podresources_client "{\"kubelet_module\": $(jstr "k8s.io/kubelet@$STAGING_VERSION"), \"path\": $(jstr "$dir/podresources-client")}"
}

# packages of k8s.io/kubernetes build with the release's own Go and build tags, as
# hack/build-go.sh recorded them once it built the release (then the packages the binaries share
# come from the Go build cache); before that, with its release table's toolchain and no tags
need_k8s_toolchain() {  # need_k8s_toolchain [RELEASE]
  local release="${1:-$RELEASE}" gojson tc
  gojson="$KC_CACHE/releases/$release-go.json"
  tc="$(jq -r '.go_toolchain // empty' "$gojson" 2>/dev/null || true)"
  BUILD_TAGS="$(jq -r '.k8s_tags // empty' "$gojson" 2>/dev/null || true)"
  [[ -n "$tc" ]] || tc="$(k8s_toolchain "$release")"
  [[ -n "$tc" ]] || die "no GO_TOOLCHAIN for release $release in $HACK_DIR/build-go.sh"
  export GOTOOLCHAIN="$tc"
}

# The sample device plugin of the release's source when it can hand out CDI devices
# (CDI_ENABLED, from 1.31), else of CDI_SOURCE_RELEASE: the plugin speaks the device plugin API
# v1beta1, unchanged since 1.28 but for the CDI device field the older copies never fill, and
# 1.28's kubelet (gate DevicePluginCDIDevices) understands it.
CDI_SOURCE_RELEASE=1.36
build_device_plugin() {
  local src="$RELEASE" wrapper kver kdir ver dir tmp image ctx inputs
  kdir="$(k8s_dir "$K8S_VERSION")"
  if ! grep -q CDI_ENABLED "$kdir/test/images/sample-device-plugin/sampledeviceplugin.go"; then
    src="$CDI_SOURCE_RELEASE"
    log "sample-device-plugin of $K8S_VERSION has no CDI_ENABLED: building the one of $src"
  fi
  wrapper="$HACK_DIR/go/k8s-$src"
  kver="$(wrapper_k8s_version "$wrapper")"
  kdir="$(k8s_dir "$kver")"
  need_k8s_toolchain "$src"
  ver="$(tr -d '[:space:]' <"$kdir/test/images/sample-device-plugin/VERSION")"
  image="registry.k8s.io/e2e-test-images/sample-device-plugin:$ver"
  dir="$KC_CACHE/tools/sample-device-plugin-$kver"
  if have_output "$dir/sampledeviceplugin"; then
    skip_step "sample-device-plugin-$kver" "$dir"
  else
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    step "sample-device-plugin-$kver" -- gobuild "$wrapper" \
      "$tmp/sampledeviceplugin" k8s.io/kubernetes/test/images/sample-device-plugin
    commit_output "$tmp" "$dir"
  fi
  # image: the binary on an empty root with a /tmp (the plugin creates its fake device files
  # there), entrypoint as upstream's Dockerfile; labelled with the inputs' hash, rebuilt only
  # when they changed
  inputs="$( { echo "sample-device-plugin-v1 $kver"; sha256sum <"$dir/sampledeviceplugin"; } | sha256sum | cut -c1-16)"
  if [[ "$(docker image inspect -f '{{index .Config.Labels "kconformance.inputs"}}' "$image" 2>/dev/null || true)" == "$inputs" ]]; then
    skip_step "image-sample-device-plugin-$ver" "$image"
  else
    ctx="$(tmp_for "$WORK/ctx-sample-device-plugin")"; mkdir -p "$ctx/tmp"; chmod 1777 "$ctx/tmp"
    cp "$dir/sampledeviceplugin" "$ctx/sampledeviceplugin"; chmod 0755 "$ctx/sampledeviceplugin"
    step "image-sample-device-plugin-$ver" -- image_import "$ctx" "$inputs" "$image" \
      'ENTRYPOINT ["/sampledeviceplugin", "-alsologtostderr"]'
    rm -rf "$ctx"
  fi
  mset sample_device_plugin "{\"source\": $(jstr "k8s.io/kubernetes@$kver"), \"version\": $(jstr "$ver"), \"path\": $(jstr "$dir/sampledeviceplugin"), \"image\": $(jstr "$image")}"
}

# image_import DIR INPUTS TAG CHANGE...: a one-layer image of DIR, tagged when complete
image_import() {
  local dir="$1" inputs="$2" tag="$3" old id change args=(); shift 3
  for change in "$@"; do args+=(--change "$change"); done
  old="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
  id="$(tar --numeric-owner --owner=0 --group=0 -C "$dir" -c . | docker import \
    --change "LABEL kconformance.inputs=$inputs" "${args[@]}" -)" || return 1
  docker tag "$id" "$tag" || return 1
  if [[ -n "$old" && "$old" != "$id" ]]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
}

build_dra() {
  local dir="$KC_CACHE/tools/dra-test-driver-$K8S_VERSION" tmp
  need_k8s_toolchain
  if have_output "$dir/dra-test-driver"; then
    skip_step "dra-test-driver-$K8S_VERSION" "$dir"
  else
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    step "dra-test-driver-$K8S_VERSION" -- gobuild "$WRAPPER" \
      "$tmp/dra-test-driver" k8s.io/kubernetes/test/e2e/dra/test-driver
    commit_output "$tmp" "$dir"
  fi
  mset dra_test_driver "{\"path\": $(jstr "$dir/dra-test-driver"), \"package\": \"k8s.io/kubernetes/test/e2e/dra/test-driver@$K8S_VERSION\"}"
}

main() {
  [[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 RELEASE [all|podresources|device-plugin|dra]"
  setup "$1"
  local what="${2:-all}" t0; t0=$(date +%s)
  case "$what" in
    all) build_podresources; build_device_plugin; build_dra ;;
    podresources) build_podresources ;;
    device-plugin) build_device_plugin ;;
    dra) build_dra ;;
    *) die "unknown target '$what' (all|podresources|device-plugin|dra)" ;;
  esac
  mset kubernetes_version "$(jstr "$K8S_VERSION")"
  echo "[timing] test-drivers-$what $(( $(date +%s) - t0 ))s"
  echo "manifest: $MANIFEST"
}

main "$@"; exit $?
