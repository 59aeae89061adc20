#!/usr/bin/env bash
# Build the upstream end-to-end test binary (k8s.io/kubernetes/test/e2e) of a release, through
# the same wrapper module as the release's binaries, for `python -m kconformance crosscheck`.
#   hack/build-e2e.sh RELEASE      (e.g. 1.28)  -> $CACHE/k8s/<version>/bin/e2e.test
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HACK_DIR/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 RELEASE   (e.g. 1.28)"
RELEASE="$1"
GO_JSON="$KC_CACHE/releases/$RELEASE-go.json"
[[ -s "$GO_JSON" ]] || die "$GO_JSON missing: run hack/build-go.sh $RELEASE first"
VERSION="$(json_get "$GO_JSON" kubernetes_version)"
BIN_DIR="$(json_get "$GO_JSON" k8s_bin)"
WRAPPER="$HACK_DIR/go/k8s-$RELEASE"
OUT="$BIN_DIR/e2e.test"
case "$RELEASE" in
  1.28) TOOLCHAIN=go1.22.12 ;;
  *) TOOLCHAIN=local ;;
esac

if have_output "$OUT"; then
  skip_step "e2e-$VERSION" "$OUT"
  exit 0
fi
tmp="$(tmp_for "$OUT")"
minor="${RELEASE#*.}"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
step "e2e-$VERSION" -- env GOTOOLCHAIN="$TOOLCHAIN" CGO_ENABLED=0 GOFLAGS=-mod=mod \
  bash -c 'cd "$1" && go test -c -trimpath -ldflags "$2" -o "$3" k8s.io/kubernetes/test/e2e' _ "$WRAPPER" "$ldflags" "$tmp"
commit_output "$tmp" "$OUT"
log "built $OUT"
