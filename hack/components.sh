#!/usr/bin/env bash
# Shared by hack/build-kms-plugin.sh and hack/build-fake-ccm.sh: build one test component (a
# small Go program under hack/go/<name>) for a release, inside a copy of that release's wrapper
# module (hack/go/k8s-<RELEASE>, written by hack/build-go.sh) with the release's own Go toolchain
# and build tags. Its dependencies then resolve to exactly the versions the release's binaries
# were built from, so the Go build cache already holds them: the fake cloud-controller-manager,
# which compiles much of kube-controller-manager, links in seconds instead of ~2 minutes cold in
# a module of its own. (hack/go/<name>/go.mod is only for editors.) Source it after lib.sh. API:
#   build_component NAME STAGING_MODULE RELEASE [EXTRA_LDFLAGS]
#       builds hack/go/NAME against STAGING_MODULE at v0.<minor>.<patch> of the release's
#       Kubernetes version (with the installed Go where hack/build-go.sh RELEASE has not run);
#       output cached by that version:
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

_component_go_build() {  # DIR OUT NAME LDFLAGS TAGS
  cd "$1" || return
  go version
  go build -trimpath -tags "$5" -ldflags "-s -w $4" -o "$2/$3" .
}

build_component() {
  local name="$1" module="$2" release="$3" ldflags="${4:-}" k8s version dest work tmp
  local wrapper="$HACK_DIR/go/k8s-$release" gojson="$KC_CACHE/releases/$release-go.json" tags
  k8s="$(component_k8s_version "$release")"
  version="v0.${k8s#v1.}"                       # v1.28.15 -> staging module v0.28.15
  dest="$KC_CACHE/components/$name/$version/$name"
  if have_output "$dest"; then
    skip_step "$name-$version" "$dest"
  else
    [[ -s "$wrapper/go.mod" ]] || die "$name: no wrapper module $wrapper/go.mod for release $release"
    if [[ -s "$gojson" ]]; then
      GOTOOLCHAIN="$(jq -er .go_toolchain "$gojson")" || die "$name: no go_toolchain in $gojson"
      tags="$(jq -er .k8s_tags "$gojson")" || die "$name: no k8s_tags in $gojson (re-run hack/build-go.sh $release)"
    else   # Kubernetes not built here (kind's published images): nothing to share, any Go will do
      log "$name: $release's Kubernetes was not built here ($gojson): building with the installed Go"
      GOTOOLCHAIN=local tags=""
    fi
    export GOTOOLCHAIN CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS="-buildvcs=false -mod=mod"
    GOPROXY="${GOPROXY:-https://proxy.golang.org}"; GOPROXY="${GOPROXY//,direct/}"; GOPROXY="${GOPROXY//|direct/}"
    [[ "$GOPROXY" == direct || -z "$GOPROXY" ]] && GOPROXY=https://proxy.golang.org
    export GOPROXY
    work="$KC_CACHE/work/$name-$version"
    rm -rf "$work"; mkdir -p "$work"
    cp "$wrapper/go.mod" "$wrapper/go.sum" "$HACK_DIR/go/$name/"*.go "$work/"
    # require the staging modules at v0.0.0, as k8s.io/kubernetes' go.mod does: left to itself
    # `go build -mod=mod` adds the ones main.go imports at their replacement's version, and the
    # module version is part of every package's build-cache key (no hits at all then)
    local requires=() kgomod
    kgomod="$(cd "$work" && GOTOOLCHAIN=local go mod download -json "k8s.io/kubernetes@$k8s" | jq -er .GoMod)" \
      || die "$name: k8s.io/kubernetes@$k8s not in the module cache"
    mapfile -t requires < <(go mod edit -json "$kgomod" | jq -r '.Require[] | select(.Version == "v0.0.0") | "-require=\(.Path)@v0.0.0"')
    (cd "$work" && go mod edit "${requires[@]}")
    tmp="$(tmp_for "$dest")"; mkdir -p "$tmp"
    step "$name-$version" -- _component_go_build "$work" "$tmp" "$name" "$ldflags" "$tags"
    commit_output "$tmp/$name" "$dest"; rmdir "$tmp"
  fi
  json_set "$KC_CACHE/releases/$release-components.json" "$name" \
    "{\"version\": \"$version\", \"module\": \"$module\", \"path\": \"$dest\"}"
}
