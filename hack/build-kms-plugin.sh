#!/usr/bin/env bash
# Build the test-only KMS v2 plugin (hack/go/kms-plugin) for RELEASE, offline (Go module proxy
# only), against that release's k8s.io/kms module.   Usage: hack/build-kms-plugin.sh RELEASE
# Output: $CACHE/components/kms-plugin/<k8s.io/kms version>/kms-plugin, recorded in
# $CACHE/releases/<RELEASE>-components.json (hack/components.sh). The `kms` profile needs it.
# Cheap (one small module, under a minute cold here), so hack/build.sh runs it too.
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HACK_DIR/lib.sh"
# shellcheck source=components.sh
source "$HACK_DIR/components.sh"

main() {
  [[ $# -eq 1 ]] || die "usage: $0 RELEASE   (e.g. 1.28)"
  local api=v2
  # kube-apiserver 1.28 accepts only a plugin whose Status reports "v2beta1"; 1.29+ expect "v2".
  if (( $(component_release_minor "$1") <= 28 )); then api=v2beta1; fi
  build_component kms-plugin k8s.io/kms "$1" "-X main.apiVersion=$api"
}

main "$@"; exit $?
