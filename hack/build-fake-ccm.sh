#!/usr/bin/env bash
# Build the test-only cloud-controller-manager (hack/go/fake-ccm: k8s.io/cloud-provider's fake
# cloud, load-balancer calls logged) for RELEASE, offline (Go module proxy only), against that
# release's k8s.io/cloud-provider.   Usage: hack/build-fake-ccm.sh RELEASE
# Output: $CACHE/components/fake-ccm/<k8s.io/cloud-provider version>/fake-ccm, recorded in
# $CACHE/releases/<RELEASE>-components.json (hack/components.sh). The `cloud-lb` profile needs it.
# hack/build.sh runs it last: built in the release's wrapper module with its toolchain and tags,
# the controller-manager packages it shares come from the Go build cache (seconds, not minutes).
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HACK_DIR/lib.sh"
# shellcheck source=components.sh
source "$HACK_DIR/components.sh"

main() {
  [[ $# -eq 1 ]] || die "usage: $0 RELEASE   (e.g. 1.28)"
  build_component fake-ccm k8s.io/cloud-provider "$1"
}

main "$@"; exit $?
