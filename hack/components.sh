#!/usr/bin/env bash
# Shared by hack/build-kms-plugin.sh and hack/build-fake-ccm.sh: build one test component (a small
# Go module under hack/go/<name>) for a release against that release's k8s.io staging module.
# Source it after lib.sh.  API:
#   build_component NAME STAGING_MODULE RELEASE [EXTRA_LDFLAGS]
#       builds hack/go/NAME with STAGING_MODULE at v0.<minor>.<patch> of the Kubernetes version
#       hack/build-go.sh's table builds for RELEASE; output cached by that module version:
#         $KC_CACHE/components/NAME/<version>/NAME
#       recorded (the suite reads it) in $KC_CACHE/releases/RELEASE-components.json: {NAME: {...}}
#   component_release_minor RELEASE   print the minor number of the release's Kubernetes version

component_k8s_version() {  # the Kubernetes version hack/build-go.sh's version table builds
  local k8s
  k8s="$(sed -n "/^    $1)\$/,/;;/s/.*K8S_VERSION=\(v[0-9.]*\).*/\1/p" "$HACK_DIR/build-go.sh")"
  [[ -n "$k8s" ]] || die "unknown release '$1': hack/build-go.sh has no K8S_VERSION for it"
  echo "$k8s"
}

component_release_minor() {
  local k8s; k8s="$(component_k8s_version "$1")"; k8s="${k8s#v1.}"; echo "${k8s%%.*}"
}

_component_go_build() {  # DIR OUT NAME LDFLAGS
  cd "$1" || return
  go version
  go build -trimpath -ldflags "-s -w $4" -o "$2/$3" .
}

build_component() {
  local name="$1" module="$2" release="$3" ldflags="${4:-}" k8s version dest work tmp
  k8s="$(component_k8s_version "$release")"
  version="v0.${k8s#v1.}"                       # v1.28.15 -> staging module v0.28.15
  dest="$KC_CACHE/components/$name/$version/$name"
  if have_output "$dest"; then
    skip_step "$name-$version" "$dest"
  else
    export GOTOOLCHAIN=local CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS="-buildvcs=false -mod=mod"
    GOPROXY="${GOPROXY:-https://proxy.golang.org}"; GOPROXY="${GOPROXY//,direct/}"; GOPROXY="${GOPROXY//|direct/}"
    [[ "$GOPROXY" == direct || -z "$GOPROXY" ]] && GOPROXY=https://proxy.golang.org
    export GOPROXY
    work="$KC_CACHE/work/$name-$version"
    rm -rf "$work"; mkdir -p "$work"
    cp "$HACK_DIR/go/$name/"*.go "$HACK_DIR/go/$name/go.mod" "$work/"
    (cd "$work" && go mod edit -require="$module@$version")
    tmp="$(tmp_for "$dest")"; mkdir -p "$tmp"
    step "$name-$version" -- _component_go_build "$work" "$tmp" "$name" "$ldflags"
    commit_output "$tmp/$name" "$dest"; rmdir "$tmp"
  fi
  json_set "$KC_CACHE/releases/$release-components.json" "$name" \
    "{\"version\": \"$version\", \"module\": \"$module\", \"path\": \"$dest\"}"
}
