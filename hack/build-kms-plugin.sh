#!/usr/bin/env bash
# Build the test-only KMS v2 plugin (hack/go/kms-plugin) for RELEASE, offline (Go module
# proxy only), against that release's k8s.io/kms module.   Usage: hack/build-kms-plugin.sh RELEASE
# The Kubernetes version is the one hack/build-go.sh's version table builds for RELEASE.
# Output, cached by k8s.io/kms version:
#   $CACHE/components/kms-plugin/<kms version>/kms-plugin
# and its record, which the suite reads to stage the plugin into the `kms` profile's node:
#   $CACHE/releases/<RELEASE>-components.json   {"kms-plugin": {version, api_version, path}}
# Cheap (one small module, about a minute cold), so hack/build.sh runs it too.
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HACK_DIR/lib.sh"

build_plugin() {  # build_plugin SRC_COPY OUT_DIR API_VERSION
  local dir="$1" out="$2" api="$3"
  cd "$dir"
  go version
  go build -trimpath -ldflags "-s -w -X main.apiVersion=$api" -o "$out/kms-plugin" .
}

main() {
  [[ $# -eq 1 ]] || die "usage: $0 RELEASE   (e.g. 1.28)"
  local release="$1" k8s kms minor api dest record work tmp
  # the Kubernetes version hack/build-go.sh builds for the release (its version table)
  k8s="$(sed -n "/^    $release)\$/,/;;/s/.*K8S_VERSION=\(v[0-9.]*\).*/\1/p" "$HACK_DIR/build-go.sh")"
  [[ -n "$k8s" ]] || die "unknown release '$release': hack/build-go.sh has no K8S_VERSION for it"
  kms="v0.${k8s#v1.}"                       # v1.28.15 -> k8s.io/kms v0.28.15 (staging module)
  minor="${k8s#v1.}"; minor="${minor%%.*}"
  # kube-apiserver 1.28 accepts only a plugin reporting "v2beta1"; 1.29+ expect "v2".
  if (( minor <= 28 )); then api=v2beta1; else api=v2; fi
  dest="$KC_CACHE/components/kms-plugin/$kms/kms-plugin"
  record="$KC_CACHE/releases/$release-components.json"
  if have_output "$dest"; then
    skip_step "kms-plugin-$kms" "$dest"
  else
    export GOTOOLCHAIN=local CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS="-buildvcs=false -mod=mod"
    GOPROXY="${GOPROXY:-https://proxy.golang.org}"; GOPROXY="${GOPROXY//,direct/}"; GOPROXY="${GOPROXY//|direct/}"
    [[ "$GOPROXY" == direct || -z "$GOPROXY" ]] && GOPROXY=https://proxy.golang.org
    export GOPROXY
    work="$KC_CACHE/work/kms-plugin-$kms"
    rm -rf "$work"; mkdir -p "$work"
    cp "$HACK_DIR/go/kms-plugin/main.go" "$HACK_DIR/go/kms-plugin/go.mod" "$work/"
    (cd "$work" && go mod edit -require="k8s.io/kms@$kms")
    tmp="$(tmp_for "$dest")"; mkdir -p "$tmp"
    step "kms-plugin-$kms" -- build_plugin "$work" "$tmp" "$api"
    commit_output "$tmp/kms-plugin" "$dest"; rmdir "$tmp"
  fi
  json_set "$record" kms-plugin "{\"version\": \"$kms\", \"api_version\": \"$api\", \"path\": \"$dest\"}"
}

main "$@"; exit $?
