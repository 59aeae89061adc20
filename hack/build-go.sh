#!/usr/bin/env bash
# Build (offline, via the Go module proxy only) the Go binaries needed to run
# Kubernetes RELEASE under kind.   Usage: hack/build-go.sh RELEASE   (e.g. 1.28)
#   hack/build-go.sh RELEASE --only kube-apiserver,kubelet
#       builds just those Kubernetes commands into $CACHE/k8s/<version>/bin (what
#       `python -m kconformance verify-catalog` needs), nothing else.
#   KC_DEPS_ONLY=1 hack/build-go.sh RELEASE --only ...   fetch the modules and stop before
#       compiling (network, little CPU): a prefetch while the cores are busy.
# Idempotent: every step whose output exists is skipped.  Outputs are built under
# a temp name and moved into place only on success.  Result manifest:
#   $CACHE/releases/<RELEASE>-go.json   (written incrementally)
# Whole body is in functions; the last line calls main, so editing this file while
# it runs is safe.

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HACK_DIR/lib.sh"

# ----------------------------------------------------------------------------
# Version table.  Add a release by adding a case.
#   K8S_VERSION      kubernetes tag (k8s.io/kubernetes module version)
#   STAGING_VERSION  published version of the k8s.io/* staging modules
#   GO_TOOLCHAIN     GOTOOLCHAIN used for k8s + tools (k8s' own .go-version line);
#                    "auto" = go<.go-version of the k8s.io/kubernetes module zip>
#   K8S_TAGS         "auto" = the tags of the release's hack/lib/golang.sh (non-debug)
#   KIND_VERSION     kind CLI
#   CRICTL_VERSION   sigs.k8s.io/cri-tools
#   CONTAINERD_VERSION / RUNC_VERSION  only built where set; "auto" = the version
#                    kind's images/base/Dockerfile uses (kind v0.32.0: v2.3.1 / v1.4.2)
# etcd / coredns / pause versions are taken from `kubeadm config images list`.
# local-path-provisioner / kindnetd versions are taken from the kind module.
# ----------------------------------------------------------------------------
release_vars() {
  CONTAINERD_VERSION="" RUNC_VERSION=""
  case "$1" in
    1.28)
      K8S_VERSION=v1.28.15 STAGING_VERSION=v0.28.15 GO_TOOLCHAIN=go1.22.12
      K8S_TAGS=selinux,notest   # = kubernetes' hack/lib/golang.sh (non-debug)
      KIND_VERSION=v0.25.0 CRICTL_VERSION=v1.28.0 ;;
    # 1.29-1.35: the newest patch release whose modules the module proxy serves and
    # sum.golang.org verifies (the catalog's `kubernetes:` names it).
    # KIND_VERSION: a kind CLI this project already builds, so that a release adds no other
    # kind/containerd/runc build (CPU is scarce): v0.25.0 (1.28's; it published 1.29-1.31
    # node images itself) with Debian's containerd 1.6 as on 1.28; for 1.32-1.35 v0.32.0
    # (1.36's) with its base image's containerd 2.3.1 / runc 1.4.2 as on 1.36.
    1.29)
      # v1.29.14: its staging modules cluster-bootstrap, cri-api,
      # csi-translation-lib, dynamic-resource-allocation, kube-aggregator and
      # legacy-cloud-providers @v0.29.14 fail sum.golang.org verification (lookup 404)
      K8S_VERSION=v1.29.15 STAGING_VERSION=v0.29.15 GO_TOOLCHAIN=auto K8S_TAGS=auto
      KIND_VERSION=v0.25.0 CRICTL_VERSION=v1.29.0 ;;
    1.30)
      # v1.30.13 -> proxy 403 "This module version is not available."; v1.30.14: kube-proxy
      # @v0.30.14 fails sum.golang.org (404); v1.30.5-.13 lack kube-proxy, endpointslice or
      # kube-controller-manager likewise. v1.30.4 is the newest with every staging module.
      K8S_VERSION=v1.30.4 STAGING_VERSION=v0.30.4 GO_TOOLCHAIN=auto K8S_TAGS=auto
      KIND_VERSION=v0.25.0 CRICTL_VERSION=v1.30.0 ;;
    1.31)
      # v1.31.14 (a newer patch): cluster-bootstrap, cri-client, csi-translation-lib,
      # dynamic-resource-allocation, kube-aggregator, kube-scheduler, pod-security-admission
      # @v0.31.14 are refused (403) or fail sum.golang.org (404); v1.31.13/.12 lack some too
      K8S_VERSION=v1.31.0 STAGING_VERSION=v0.31.0 GO_TOOLCHAIN=auto K8S_TAGS=auto
      KIND_VERSION=v0.25.0 CRICTL_VERSION=v1.31.0 ;;
    1.32)
      # v1.32.11 (a newer patch): k8s.io/kubelet@v0.32.11 fails sum.golang.org (404), and
      # more; v1.32.13: cri-client, csi-translation-lib, endpointslice, kube-controller-manager,
      # kube-proxy, kube-scheduler @v0.32.13 refused (403)
      K8S_VERSION=v1.32.2 STAGING_VERSION=v0.32.2 GO_TOOLCHAIN=auto K8S_TAGS=auto
      KIND_VERSION=v0.32.0 CRICTL_VERSION=v1.32.0
      CONTAINERD_VERSION=auto RUNC_VERSION=auto ;;
    1.33)
      # v1.33.12 (a newer patch): k8s.io/cri-api@v0.33.12 refused (403)
      # etcd: kubeadm wants 3.5.24; go.etcd.io/etcd/etcdutl/v3 of 3.5.18, .20, .22-.24 fails
      # sum.golang.org (404), so its image tag 3.5.24-0 holds etcd 3.5.21 (the same minor)
      K8S_VERSION=v1.33.13 STAGING_VERSION=v0.33.13 GO_TOOLCHAIN=auto K8S_TAGS=auto
      ETCD_BUILD_VERSION=3.5.21
      KIND_VERSION=v0.32.0 CRICTL_VERSION=v1.33.0
      CONTAINERD_VERSION=auto RUNC_VERSION=auto ;;
    1.34)
      # v1.34.8 (a newer patch): k8s.io/cri-api@v0.34.8 refused (403)
      K8S_VERSION=v1.34.4 STAGING_VERSION=v0.34.4 GO_TOOLCHAIN=auto K8S_TAGS=auto
      KIND_VERSION=v0.32.0 CRICTL_VERSION=v1.34.0
      CONTAINERD_VERSION=auto RUNC_VERSION=auto ;;
    1.35)
      # v1.35.5 (a newer patch) -> sum.golang.org lookup 404 ("verifying go.mod")
      K8S_VERSION=v1.35.4 STAGING_VERSION=v0.35.4 GO_TOOLCHAIN=auto K8S_TAGS=auto
      KIND_VERSION=v0.32.0 CRICTL_VERSION=v1.35.0
      CONTAINERD_VERSION=auto RUNC_VERSION=auto ;;
    1.36)
      # newest that the module proxy serves *and* sum.golang.org verifies:
      # v1.36.6 -> 403 from the proxy, v1.36.5 -> sumdb lookup 404.
      K8S_VERSION=v1.36.3 STAGING_VERSION=v0.36.3 GO_TOOLCHAIN=local
      K8S_TAGS=selinux,notest,grpcnotrace
      KIND_VERSION=v0.32.0 CRICTL_VERSION=v1.36.0
      CONTAINERD_VERSION=auto RUNC_VERSION=auto ;;
    *) die "unknown release '$1' (known: 1.28 1.29 1.30 1.31 1.32 1.33 1.34 1.35 1.36)" ;;
  esac
  export K8S_TAGS
  RELEASE="$1"
  CACHE="$KC_CACHE"
  MANIFEST="$CACHE/releases/$RELEASE-go.json"
  K8S_BIN="$CACHE/k8s/$K8S_VERSION/bin"
  WORK="$CACHE/work"
  export CGO_ENABLED=0 GOOS=linux GOARCH=amd64
  export GOFLAGS="-buildvcs=false -mod=mod"
  # module proxy only: never fall back to fetching from VCS hosts directly
  GOPROXY="${GOPROXY:-https://proxy.golang.org}"; GOPROXY="${GOPROXY//,direct/}"; GOPROXY="${GOPROXY//|direct/}"
  [[ "$GOPROXY" == direct || -z "$GOPROXY" ]] && GOPROXY=https://proxy.golang.org
  export GOPROXY
  mkdir -p "$CACHE/releases" "$CACHE/tools" "$CACHE/bin" "$WORK"
  resolve_auto
  export GOTOOLCHAIN="$GO_TOOLCHAIN"
}

# GO_TOOLCHAIN=auto / K8S_TAGS=auto: read them from the k8s.io/kubernetes module (its
# .go-version and hack/lib/golang.sh), as kubernetes' own build would use them.  A toolchain
# the module proxy refuses is recorded (go_toolchain_reason) and the installed Go used instead.
resolve_auto() {
  local kdir want
  [[ "$GO_TOOLCHAIN" == auto || "$K8S_TAGS" == auto ]] || return 0
  kdir="$(moddl "k8s.io/kubernetes@$K8S_VERSION" Dir)" \
    || die "k8s.io/kubernetes@$K8S_VERSION: not served by the module proxy (see above)"
  if [[ "$K8S_TAGS" == auto ]]; then
    if grep -q grpcnotrace "$kdir/hack/lib/golang.sh"; then K8S_TAGS=selinux,notest,grpcnotrace
    else K8S_TAGS=selinux,notest; fi
    export K8S_TAGS
  fi
  if [[ "$GO_TOOLCHAIN" == auto ]]; then
    want="go$(tr -d '[:space:]' <"$kdir/.go-version")"
    if modavail "golang.org/toolchain@v0.0.1-$want.$GOOS-$GOARCH"; then
      GO_TOOLCHAIN="$want"
    else
      mset go_toolchain_reason "$(jstr "$want (kubernetes' .go-version) not on the module proxy: $MODERR; built with the installed Go")"
      GO_TOOLCHAIN=local
    fi
  fi
}

mset() { json_set "$MANIFEST" "$@"; }

# pick_toolchain GOMODFILE: $GO_TOOLCHAIN unless the module's `go` line needs newer,
# then "local" (the installed, newest Go).
pick_toolchain() {
  local need have
  need="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$1" | head -1)"
  have="${GO_TOOLCHAIN#go}"
  if [[ "$GO_TOOLCHAIN" == local || -z "$need" ]]; then echo "$GO_TOOLCHAIN"; return; fi
  if [[ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | tail -1)" == "$have" ]]; then
    echo "$GO_TOOLCHAIN"
  else
    echo local
  fi
}

# modavail MOD@VER: true if the module proxy serves it; else the go error in $MODERR
modavail() {
  MODERR="$(cd "$WORK" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$1" 2>&1 | jq -r '.Error // empty' 2>&1)" || true
  [[ -z "$MODERR" ]]
}
jstr() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }

# go mod download -json MOD@VER and print the field FIELD (Dir, GoMod, Info...)
moddl() {
  local modver="$1" field="$2" out
  out="$(cd "$WORK" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$modver")" || { echo "$out" >&2; return 1; }
  jq -er ".$field" <<<"$out"
}

# generic wrapper module: $WORK/wrap-NAME with go.mod requiring MODULE VERSION
make_wrapper() {
  local name="$1" module="$2" version="$3" dir="$WORK/wrap-$1"
  mkdir -p "$dir"
  if ! grep -q "^require $module $version\$" "$dir/go.mod" 2>/dev/null; then
    printf 'module kconformance.local/wrap/%s\n\ngo 1.20\n\nrequire %s %s\n' \
      "${name//[^A-Za-z0-9._-]/_}" "$module" "$version" >"$dir/go.mod"
    rm -f "$dir/go.sum"
  fi
  echo "$dir"
}

# build_in DIR OUTDIR LDFLAGS PKG...   (go build -o OUTDIR/ inside module DIR)
build_in() {
  local dir="$1" out="$2" ldflags="$3"; shift 3
  cd "$dir"
  go version
  go build -trimpath -ldflags "$ldflags" -o "$out/" "$@"
}

# -------------------------------------------------------------------------- k8s
k8s_wrapper() {
  local dir="$HACK_DIR/go/k8s-$RELEASE" kgomod
  if ! grep -q "^require k8s.io/kubernetes $K8S_VERSION\$" "$dir/go.mod" 2>/dev/null; then
    rm -f "$dir/go.sum"
    kgomod="$(moddl "k8s.io/kubernetes@$K8S_VERSION" GoMod)"
    mkdir -p "$dir"
    {
      echo "// Wrapper module: builds k8s.io/kubernetes $K8S_VERSION from the module proxy."
      echo "// kubernetes' go.mod replaces the k8s.io/* staging modules with ./staging;"
      echo "// here they are replaced with their published $STAGING_VERSION versions."
      echo "module kconformance.local/k8s-$RELEASE"
      echo
      # same go/godebug lines as kubernetes' go.mod: they set the GODEBUG defaults of the binaries
      grep -E '^(go|godebug) ' "$kgomod"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\t\1 => \1 '"$STAGING_VERSION"'#p' "$kgomod"
      echo ")"
    } >"$dir/go.mod.tmp"
    mv "$dir/go.mod.tmp" "$dir/go.mod"
  fi
  echo "$dir"
}

k8s_ldflags() {
  local info commit date major minor ld="" kv p
  info="$(moddl "k8s.io/kubernetes@$K8S_VERSION" Info)"
  commit="$(jq -r '.Origin.Hash // empty' "$info")"
  date="$(jq -r '.Time' "$info")"
  major="${K8S_VERSION#v}"; major="${major%%.*}"
  minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
  for kv in "gitVersion=$K8S_VERSION" "gitMajor=$major" "gitMinor=$minor" \
            "gitTreeState=clean" "buildDate=$date" "gitCommit=$commit"; do
    for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
      ld+=" -X $p.$kv"
    done
  done
  echo "-s -w$ld"
}

K8S_CMDS=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)

verify_k8s() {
  local bin="$1" v c
  v="$("$bin/kubeadm" version -o short)"; echo "kubeadm version -o short: $v"; [[ "$v" == "$K8S_VERSION" ]]
  v="$("$bin/kubectl" version --client)"; echo "$v"; grep -q "$K8S_VERSION" <<<"$v"
  for c in "${K8S_CMDS[@]}"; do
    v="$(file "$bin/$c")"; echo "$v"; grep -q 'statically linked' <<<"$v"
  done
  "$bin/kubelet" --version; "$bin/kube-apiserver" --version
}

build_k8s() {
  local wrapper ldflags pkgs=() c tmp
  wrapper="$(k8s_wrapper)"
  for c in "${K8S_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  if have_output "$K8S_BIN/kubeadm" "$K8S_BIN/kubelet" "$K8S_BIN/kube-proxy" "$K8S_BIN/kubectl" \
     "$K8S_BIN/kube-apiserver" "$K8S_BIN/kube-controller-manager" "$K8S_BIN/kube-scheduler"; then
    skip_step "k8s-$K8S_VERSION-build" "$K8S_BIN"
  else
    step "k8s-$K8S_VERSION-deps" -- bash -c 'cd "$1" && shift && go version && go list -tags "$K8S_TAGS" -deps "$@" >/dev/null' _ "$wrapper" "${pkgs[@]}"
    ldflags="$(k8s_ldflags)"
    tmp="$(tmp_for "$K8S_BIN")"; mkdir -p "$tmp"
    step "k8s-$K8S_VERSION-build" -- build_in "$wrapper" "$tmp" "$ldflags" -tags "$K8S_TAGS" "${pkgs[@]}"
    step "k8s-$K8S_VERSION-verify" -- verify_k8s "$tmp"
    commit_output "$tmp" "$K8S_BIN"
  fi
  mset kubernetes_version "$(jstr "$K8S_VERSION")"
  mset k8s_bin "$(jstr "$K8S_BIN")"
  mset go_toolchain "$(jstr "$GO_TOOLCHAIN")"
  mset k8s_tags "$(jstr "$K8S_TAGS")"   # hack/components.sh builds with the same
}

build_agnhost() {
  local wrapper kdir ver dest tmp
  wrapper="$(k8s_wrapper)"
  kdir="$(moddl "k8s.io/kubernetes@$K8S_VERSION" Dir)"
  ver="$(tr -d '[:space:]' <"$kdir/test/images/agnhost/VERSION")"
  dest="$K8S_BIN/agnhost"
  if have_output "$dest"; then
    skip_step "agnhost-$ver" "$dest"
  else
    tmp="$(tmp_for "$dest")"; mkdir -p "$tmp"
    step "agnhost-$ver" -- build_in "$wrapper" "$tmp" "-s -w" -tags "$K8S_TAGS" k8s.io/kubernetes/test/images/agnhost
    commit_output "$tmp/agnhost" "$dest"; rmdir "$tmp"
  fi
  mset agnhost "{\"version\": $(jstr "$ver"), \"path\": $(jstr "$dest")}"
}

# ------------------------------------------------------------ kubeadm images
# sets ETCD_TAG (3.5.x-0) COREDNS_TAG (v1.x.y) PAUSE_TAG (3.x)
kubeadm_images() {
  local list
  list="$("$K8S_BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)" \
    || die "kubeadm config images list failed"
  ETCD_TAG="$(sed -n 's#.*/etcd:##p' <<<"$list")"
  COREDNS_TAG="$(sed -n 's#.*/coredns:##p' <<<"$list")"
  PAUSE_TAG="$(sed -n 's#.*/pause:##p' <<<"$list")"
  [[ -n "$ETCD_TAG" && -n "$COREDNS_TAG" && -n "$PAUSE_TAG" ]] || die "cannot parse kubeadm image list: $list"
}

# ETCD_BUILD_VERSION: the etcd release built for kubeadm's etcd image tag when the module proxy
# lacks that one (the image keeps kubeadm's tag; `etcd --version` in it tells the truth)
build_etcd() {
  local v="${ETCD_BUILD_VERSION:-${ETCD_TAG%-*}}" dir wrapper tmp ld commit
  dir="$CACHE/tools/etcd-$v-0"
  if have_output "$dir/etcd" "$dir/etcdctl"; then
    skip_step "etcd-$v-0" "$dir"
  else
    wrapper="$(make_wrapper "etcd-$v" go.etcd.io/etcd/server/v3 "v$v")"
    grep -q etcdctl "$wrapper/go.mod" || echo "require go.etcd.io/etcd/etcdctl/v3 v$v" >>"$wrapper/go.mod"
    commit="$(jq -r '.Origin.Hash // empty' "$(moddl "go.etcd.io/etcd/server/v3@v$v" Info)" | cut -c1-9)"
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    ld="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${commit:-v$v}"
    # both main packages are named "v3": build them one by one
    step "etcd-$v-0" -- bash -c 'cd "$1" && go version && go build -trimpath -ldflags "$2" -o "$3/etcd" go.etcd.io/etcd/server/v3 && go build -trimpath -ldflags "$2" -o "$3/etcdctl" go.etcd.io/etcd/etcdctl/v3 && "$3/etcd" --version && "$3/etcdctl" version' _ "$wrapper" "$ld" "$tmp"
    commit_output "$tmp" "$dir"
  fi
  mset etcd "{\"version\": $(jstr "$ETCD_TAG"), \"built\": $(jstr "$v"), \"dir\": $(jstr "$dir"), \"etcd\": $(jstr "$dir/etcd"), \"etcdctl\": $(jstr "$dir/etcdctl")}"
}

build_coredns() {
  local dir="$CACHE/tools/coredns-$COREDNS_TAG" wrapper tmp
  if have_output "$dir/coredns"; then
    skip_step "coredns-$COREDNS_TAG" "$dir"
  else
    wrapper="$(make_wrapper "coredns-$COREDNS_TAG" github.com/coredns/coredns "$COREDNS_TAG")"
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    step "coredns-$COREDNS_TAG" -- bash -c 'cd "$1" && go version && go build -trimpath -ldflags "-s -w" -o "$2/coredns" github.com/coredns/coredns && "$2/coredns" -version' _ "$wrapper" "$tmp"
    commit_output "$tmp" "$dir"
  fi
  mset coredns "{\"version\": $(jstr "$COREDNS_TAG"), \"dir\": $(jstr "$dir"), \"coredns\": $(jstr "$dir/coredns")}"
}

build_pause() {
  local dir="$CACHE/tools/pause-$PAUSE_TAG" tmp
  if have_output "$dir/pause"; then
    skip_step "pause-$PAUSE_TAG" "$dir"
  else
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    step "pause-$PAUSE_TAG" -- bash -c 'gcc -Os -Wall -static -s -DVERSION="$1" -o "$2/pause" "$3" && "$2/pause" -v' _ \
      "v$PAUSE_TAG-kconformance" "$tmp" "$HACK_DIR/pause.c"
    commit_output "$tmp" "$dir"
  fi
  mset pause "{\"version\": $(jstr "$PAUSE_TAG"), \"dir\": $(jstr "$dir"), \"pause\": $(jstr "$dir/pause")}"
}

# ----------------------------------------------------------------------- kind
build_kind() {
  local dest="$CACHE/bin/kind-$KIND_VERSION" tmp moddir
  if have_output "$dest"; then
    skip_step "kind-$KIND_VERSION" "$dest"
  else
    tmp="$(tmp_for "$dest")"; mkdir -p "$tmp"
    step "kind-$KIND_VERSION" -- bash -c 'GOBIN="$1" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "$2" && "$1/kind" version' _ "$tmp" "sigs.k8s.io/kind@$KIND_VERSION"
    commit_output "$tmp/kind" "$dest"; rmdir "$tmp"
  fi
  moddir="$(moddl "sigs.k8s.io/kind@$KIND_VERSION" Dir)"
  KIND_MODDIR="$moddir"
  mset kind "$(jstr "$dest")"
  mset kind_version "$(jstr "$KIND_VERSION")"
  mset kind_module_dir "$(jstr "$moddir")"
}

# copy_k8s_replaces GOMOD: print the module's replace directives as single lines, with
# "k8s.io/X => k8s.io/kubernetes/staging/src/k8s.io/X <pseudo>" rewritten to the published
# "k8s.io/X v0.N.P" matching its "k8s.io/kubernetes => k8s.io/kubernetes v1.N.P".
copy_k8s_replaces() {
  python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
lines = []
for m in re.finditer(r'^replace\s*\((.*?)^\)', text, re.S | re.M):
    lines += [l.strip() for l in m.group(1).splitlines()]
lines += [l[len('replace'):].strip() for l in text.splitlines() if l.startswith('replace ') and '(' not in l]
lines = [l.split('//')[0].strip() for l in lines]
lines = [l for l in lines if '=>' in l]
kver = None
for l in lines:
    m = re.match(r'k8s\.io/kubernetes\s*=>\s*k8s\.io/kubernetes\s+v1\.(\d+)\.(\d+)', l)
    if m:
        kver = 'v0.%s.%s' % m.groups()
for l in lines:
    left, right = [x.strip() for x in l.split('=>')]
    if right.startswith('k8s.io/kubernetes/staging/src/'):
        if not kver:
            continue
        mod = left.split()[0]
        right = '%s %s' % (mod, kver)
    if right.startswith('.') or right.startswith('/'):
        continue  # local paths cannot be reproduced
    print('replace %s => %s' % (left, right))
PY
}

# crictl: sigs.k8s.io/cri-tools $CRICTL_VERSION if the module proxy serves it; else the
# version kind's base image uses (kind v0.25.0: v1.30.0); else the step fails, naming both.
build_crictl() {
  local want="$CRICTL_VERSION" kv v dir="" tmp wrapper tc note=""
  kv="$(kind_base_arg CRICTL_VERSION)"
  # 1. already built?
  for v in "$want" "$kv"; do
    [[ -n "$v" ]] && have_output "$CACHE/tools/crictl-$v/crictl" && { dir="$CACHE/tools/crictl-$v"; break; }
  done
  if [[ -n "$dir" ]]; then
    skip_step "crictl-$v" "$dir"
  else
    # 2. pick a source
    if modavail "sigs.k8s.io/cri-tools@$want"; then
      v="$want"
    else
      note="sigs.k8s.io/cri-tools@$want not on module proxy: $MODERR"
      if [[ -n "$kv" && "$kv" != "$want" ]] && modavail "sigs.k8s.io/cri-tools@$kv"; then
        v="$kv"; note="$note; built $kv (crictl of kind $KIND_VERSION's base image) instead"
      else
        die "crictl: $note; sigs.k8s.io/cri-tools@${kv:-?} (kind $KIND_VERSION's base image) not either"
      fi
    fi
    dir="$CACHE/tools/crictl-$v"; tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    local gomod decl
    gomod="$(moddl "sigs.k8s.io/cri-tools@$v" GoMod)"
    # some releases (v1.30.0) declare "module github.com/kubernetes-sigs/cri-tools":
    # require that path and replace it by the sigs.k8s.io module (same code)
    decl="$(sed -n 's/^module *"\{0,1\}\([^" ]*\).*/\1/p' "$gomod" | head -1)"
    wrapper="$(make_wrapper "crictl-$v" "${decl:-sigs.k8s.io/cri-tools}" "$v")"
    if ! grep -q '^replace' "$wrapper/go.mod"; then
      {
        [[ -n "$decl" && "$decl" != sigs.k8s.io/cri-tools ]] && echo "replace $decl => sigs.k8s.io/cri-tools $v"
        # carry over cri-tools' own replaces (they pin k8s.io/kubernetes and point the
        # staging modules at kubernetes/staging pseudo-versions: use the published v0.x ones)
        copy_k8s_replaces "$gomod"
      } >>"$wrapper/go.mod"
    fi
    decl="${decl:-sigs.k8s.io/cri-tools}"
    tc="$(pick_toolchain "$gomod")"
    ( export GOTOOLCHAIN="$tc"
      step "crictl-$v" -- bash -c 'cd "$1" && go version && go build -trimpath -ldflags "$2" -o "$3/crictl" "$4/cmd/crictl" && "$3/crictl" --version' \
        _ "$wrapper" "-s -w -X $decl/pkg/version.Version=$v" "$tmp" "$decl" )
    printf '%s\n' "sigs.k8s.io/cri-tools@$v" >"$tmp/IMPL"
    [[ -z "$note" ]] || printf '%s\n' "$note" >"$tmp/NOTE"
    commit_output "$tmp" "$dir"
  fi
  mset crictl "$(jstr "$dir/crictl")"
  mset crictl_version "$(jstr "$v")"
  mset crictl_impl "$(jstr "$(cat "$dir/IMPL" 2>/dev/null || true)")"
  mset crictl_note "$(jstr "$(cat "$dir/NOTE" 2>/dev/null || true)")"
}

# local-path-provisioner version kind builds its image from (images/local-path-provisioner/Makefile)
lpp_version() {
  sed -n 's/^VERSION *?*= *\(v[0-9.]*\).*/\1/p' "$KIND_MODDIR/images/local-path-provisioner/Makefile" 2>/dev/null | head -1
}

# Builds the version kind references; if the proxy does not serve it, the newest one it does
# (recorded with the reason).
build_lpp() {
  local want v dir wrapper tmp tc note="" latest
  want="$(lpp_version)"
  [[ -n "$want" ]] || { mset local_path_provisioner null; mset local_path_provisioner_reason "$(jstr "version not found in $KIND_MODDIR")"; return 0; }
  v="$want"
  if ! have_output "$CACHE/tools/local-path-provisioner-$want/local-path-provisioner" && ! modavail "github.com/rancher/local-path-provisioner@$want"; then
    note="kind $KIND_VERSION references $want, not on module proxy: $MODERR"
    latest="$(cd "$WORK" && go list -m -json github.com/rancher/local-path-provisioner@latest 2>/dev/null | jq -r '.Version // empty')" || true
    if [[ -z "$latest" ]]; then
      mset local_path_provisioner null; mset local_path_provisioner_reason "$(jstr "$note; no other version available")"; return 0
    fi
    v="$latest"; note="$note; built $latest instead"
  fi
  dir="$CACHE/tools/local-path-provisioner-$v"
  if have_output "$dir/local-path-provisioner"; then
    skip_step "local-path-provisioner-$v" "$dir"
    [[ -n "$note" ]] || note="$(cat "$dir/NOTE" 2>/dev/null || true)"
  else
    wrapper="$(make_wrapper "lpp-$v" github.com/rancher/local-path-provisioner "$v")"
    tc="$(pick_toolchain "$(moddl "github.com/rancher/local-path-provisioner@$v" GoMod)")"
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    ( export GOTOOLCHAIN="$tc"; step "local-path-provisioner-$v" -- bash -c 'cd "$1" && go version && go build -trimpath -ldflags "-s -w -X main.VERSION=$3" -o "$2/local-path-provisioner" github.com/rancher/local-path-provisioner && "$2/local-path-provisioner" --version' _ "$wrapper" "$tmp" "$v" ) || true
    if [[ ! -s "$tmp/local-path-provisioner" ]]; then
      rm -rf "$tmp"
      mset local_path_provisioner null
      mset local_path_provisioner_reason "$(jstr "$note; build of $v failed, see $KC_LOGS/local-path-provisioner-$v.log: $(grep -m3 -E 'error|cannot|not ' "$KC_LOGS/local-path-provisioner-$v.log" | tr '\n' ' ')")"
      return 0
    fi
    [[ -z "$note" ]] || printf '%s\n' "$note" >"$tmp/NOTE"
    commit_output "$tmp" "$dir"
  fi
  mset local_path_provisioner "{\"version\": $(jstr "$v"), \"kind_references\": $(jstr "$want"), \"dir\": $(jstr "$dir"), \"path\": $(jstr "$dir/local-path-provisioner")}"
  mset local_path_provisioner_reason "$(jstr "$note")"
}

# kindnetd: kind's images/kindnetd is a nested module (sigs.k8s.io/kind/images/kindnetd)
# that kind does not tag; fetch it by the commit of the kind tag (pseudo-version).
build_kindnetd() {
  local kinfo commit modver dir wrapper tmp v logf="$KC_LOGS/kindnetd-resolve.log"
  kinfo="$(moddl "sigs.k8s.io/kind@$KIND_VERSION" Info)"
  commit="$(jq -r '.Origin.Hash // empty' "$kinfo")"; commit="${commit:-$KIND_VERSION}"
  v="${KINDNETD_VERSION:-}"
  if [[ -z "$v" ]]; then
    # resolve the nested module at the kind tag's commit
    if ! modver="$(cd "$WORK" && GOFLAGS=-mod=mod go list -m -json "sigs.k8s.io/kind/images/kindnetd@$commit" 2>"$logf" | jq -er .Version)"; then
      echo "[timing] kindnetd-$KIND_VERSION 0s (skipped: not fetchable from the module proxy)"
      mset kindnetd null
      mset kindnetd_reason "$(jstr "kind's images/kindnetd is a nested Go module (own go.mod), so it is not in the sigs.k8s.io/kind@$KIND_VERSION zip; fetching it by the tag's commit failed: go list -m sigs.k8s.io/kind/images/kindnetd@$commit: $(tr '\n' ' ' <"$logf")")"
      return 0
    fi
    v="$modver"
  fi
  dir="$CACHE/tools/kindnetd-$KIND_VERSION"
  if have_output "$dir/kindnetd"; then
    skip_step "kindnetd-$KIND_VERSION" "$dir"
  else
    wrapper="$(make_wrapper "kindnetd-$KIND_VERSION" sigs.k8s.io/kind/images/kindnetd "$v")"
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    if ! ( step "kindnetd-$KIND_VERSION" -- bash -c 'cd "$1" && go version && go build -trimpath -ldflags "-s -w" -o "$2/kindnetd" sigs.k8s.io/kind/images/kindnetd/cmd/kindnetd' _ "$wrapper" "$tmp" ); then
      rm -rf "$tmp"
      mset kindnetd null
      mset kindnetd_reason "$(jstr "build failed, see $KC_LOGS/kindnetd-$KIND_VERSION.log: $(grep -m3 -E 'error|cannot|not ' "$KC_LOGS/kindnetd-$KIND_VERSION.log" | tr '\n' ' ')")"
      return 0
    fi
    commit_output "$tmp" "$dir"
  fi
  mset kindnetd "{\"version\": $(jstr "$v"), \"kind_version\": $(jstr "$KIND_VERSION"), \"dir\": $(jstr "$dir"), \"path\": $(jstr "$dir/kindnetd")}"
  mset kindnetd_reason null
}

# CNI plugins the kind base image ships (version from kind's images/base/Dockerfile);
# needed by kindnetd and by a plain bridge CNI fallback.
CNI_PLUGINS=(plugins/main/bridge plugins/main/ptp plugins/main/loopback plugins/ipam/host-local plugins/meta/portmap)
build_cni_plugins() {
  local v dir wrapper tmp tc p pkgs=()
  v="$(kind_base_arg CNI_PLUGINS_VERSION)"
  [[ -n "$v" ]] || { mset cni_plugins null; return 0; }
  dir="$CACHE/tools/cni-plugins-$v"
  if have_output "$dir/bridge" "$dir/host-local" "$dir/loopback" "$dir/portmap" "$dir/ptp"; then
    skip_step "cni-plugins-$v" "$dir"
  else
    if ! modavail "github.com/containernetworking/plugins@$v"; then
      mset cni_plugins null; mset cni_plugins_reason "$(jstr "$MODERR")"; return 0
    fi
    wrapper="$(make_wrapper "cni-plugins-$v" github.com/containernetworking/plugins "$v")"
    tc="$(pick_toolchain "$(moddl "github.com/containernetworking/plugins@$v" GoMod)")"
    for p in "${CNI_PLUGINS[@]}"; do pkgs+=("github.com/containernetworking/plugins/$p"); done
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    ( export GOTOOLCHAIN="$tc"
      step "cni-plugins-$v" -- build_in "$wrapper" "$tmp" \
        "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$v" "${pkgs[@]}" ) || true
    if [[ ! -s "$tmp/bridge" || ! -s "$tmp/portmap" ]]; then
      rm -rf "$tmp"; mset cni_plugins null
      mset cni_plugins_reason "$(jstr "build failed, see $KC_LOGS/cni-plugins-$v.log")"; return 0
    fi
    commit_output "$tmp" "$dir"
  fi
  mset cni_plugins "{\"version\": $(jstr "$v"), \"dir\": $(jstr "$dir"), \"plugins\": [\"bridge\", \"host-local\", \"loopback\", \"portmap\", \"ptp\"]}"
}

# remove temp outputs left by earlier runs that died (their pid is gone)
clean_stale_tmp() {
  local t pid
  for t in "$CACHE"/tools/.tmp.* "$CACHE"/bin/.tmp.* "$CACHE"/k8s/*/.tmp.* "$CACHE"/k8s/*/bin/.tmp.*; do
    [[ -e "$t" ]] || continue
    pid="$(sed -n 's/.*\.\([0-9][0-9]*\)\.[0-9][0-9]*\(\.old\)\{0,1\}$/\1/p' <<<"$t")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && continue
    rm -rf "$t"
  done
}

# version from kind's images/base/Dockerfile (ARG NAME="vX.Y.Z")
kind_base_arg() {
  sed -n 's/^ARG '"$1"'="\(v[0-9.]*\)".*/\1/p' "$KIND_MODDIR/images/base/Dockerfile" | head -1
}

# containerd v2 (cmd/containerd, containerd-shim-runc-v2, ctr), static, CGO off, with the
# build tags kind's base image uses.
build_containerd() {
  local v="$CONTAINERD_VERSION" dir wrapper tmp tc commit mod ld pkgs=() c
  [[ "$v" == auto ]] && v="$(kind_base_arg CONTAINERD_VERSION)"
  [[ -n "$v" ]] || die "cannot find containerd version in kind's base Dockerfile"
  mod=github.com/containerd/containerd/v2
  [[ "$v" == v1.* ]] && mod=github.com/containerd/containerd
  dir="$CACHE/tools/containerd-$v"
  if have_output "$dir/containerd" "$dir/containerd-shim-runc-v2" "$dir/ctr"; then
    skip_step "containerd-$v" "$dir"
  else
    wrapper="$(make_wrapper "containerd-$v" "$mod" "$v")"
    tc="$(pick_toolchain "$(moddl "$mod@$v" GoMod)")"
    commit="$(jq -r '.Origin.Hash // empty' "$(moddl "$mod@$v" Info)")"
    ld="-s -w -X $mod/version.Version=$v -X $mod/version.Revision=${commit:-$v} -X $mod/version.Package=github.com/containerd/containerd"
    for c in containerd containerd-shim-runc-v2 ctr; do pkgs+=("$mod/cmd/$c"); done
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    ( export GOTOOLCHAIN="$tc"
      step "containerd-$v" -- build_in "$wrapper" "$tmp" "$ld" \
        -tags "no_aufs no_zfs no_btrfs no_devmapper urfave_cli_no_docs" "${pkgs[@]}" )
    "$tmp/containerd" --version
    commit_output "$tmp" "$dir"
  fi
  mset containerd "{\"version\": $(jstr "$v"), \"dir\": $(jstr "$dir"), \"binaries\": [\"containerd\", \"containerd-shim-runc-v2\", \"ctr\"]}"
}

# runc: needs cgo + libseccomp (Debian libseccomp-dev); linked statically.
build_runc() {
  local v="$RUNC_VERSION" dir wrapper tmp tc commit ld
  [[ "$v" == auto ]] && v="$(kind_base_arg RUNC_VERSION)"
  [[ -n "$v" ]] || die "cannot find runc version in kind's base Dockerfile"
  dir="$CACHE/tools/runc-$v"
  if have_output "$dir/runc"; then
    skip_step "runc-$v" "$dir"
  else
    if [[ ! -e /usr/include/seccomp.h ]]; then
      step "apt-libseccomp-dev" -- bash -c 'export DEBIAN_FRONTEND=noninteractive; apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends libseccomp-dev pkg-config || { apt-get -o DPkg::Lock::Timeout=600 update && apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends libseccomp-dev pkg-config; }'
    fi
    wrapper="$(make_wrapper "runc-$v" github.com/opencontainers/runc "$v")"
    tc="$(pick_toolchain "$(moddl "github.com/opencontainers/runc@$v" GoMod)")"
    commit="$(jq -r '.Origin.Hash // empty' "$(moddl "github.com/opencontainers/runc@$v" Info)")"
    ld="-s -w -X main.version=${v#v} -X main.gitCommit=${commit:-$v} -extldflags -static"
    tmp="$(tmp_for "$dir")"; mkdir -p "$tmp"
    ( export GOTOOLCHAIN="$tc" CGO_ENABLED=1
      step "runc-$v" -- bash -c 'cd "$1" && go version && go build -trimpath -buildmode=default -tags "seccomp urfave_cli_no_docs netgo osusergo" -ldflags "$2" -o "$3/runc" github.com/opencontainers/runc && "$3/runc" --version && file "$3/runc" | grep -q "statically linked"' \
        _ "$wrapper" "$ld" "$tmp" )
    commit_output "$tmp" "$dir"
  fi
  mset runc "{\"version\": $(jstr "$v"), \"dir\": $(jstr "$dir"), \"runc\": $(jstr "$dir/runc")}"
}

# build_k8s_only CMD,CMD...: just these Kubernetes commands, each moved into $K8S_BIN on its
# own (a later full build finds the set incomplete and builds all seven).
build_k8s_only() {
  local wrapper ldflags pkgs=() c tmp want=()
  IFS=, read -r -a want <<<"$1"
  for c in "${want[@]}"; do
    [[ " ${K8S_CMDS[*]} " == *" $c "* ]] || die "--only: unknown command '$c' (known: ${K8S_CMDS[*]})"
    have_output "$K8S_BIN/$c" || pkgs+=("k8s.io/kubernetes/cmd/$c")
  done
  if [[ ${#pkgs[@]} -eq 0 ]]; then
    skip_step "k8s-$K8S_VERSION-build-only" "$K8S_BIN has $1"
  else
    wrapper="$(k8s_wrapper)"
    step "k8s-$K8S_VERSION-deps-only" -- bash -c 'cd "$1" && shift && go version && go list -tags "$K8S_TAGS" -deps "$@" >/dev/null' _ "$wrapper" "${pkgs[@]}"
    if [[ -n "${KC_DEPS_ONLY:-}" ]]; then log "KC_DEPS_ONLY: modules fetched, not compiling"; return 0; fi
    ldflags="$(k8s_ldflags)"
    tmp="$(tmp_for "$K8S_BIN")"; mkdir -p "$tmp"
    step "k8s-$K8S_VERSION-build-only" -- build_in "$wrapper" "$tmp" "$ldflags" -tags "$K8S_TAGS" "${pkgs[@]}"
    step "k8s-$K8S_VERSION-verify-only" -- bash -c 'for b in "$1"/*; do file "$b" | grep -q "statically linked" && "$b" --version || exit 1; done' _ "$tmp"
    mkdir -p "$K8S_BIN"
    for c in "$tmp"/*; do commit_output "$c" "$K8S_BIN/$(basename "$c")"; done
    rmdir "$tmp"
  fi
  mset kubernetes_version "$(jstr "$K8S_VERSION")"
  mset k8s_bin "$(jstr "$K8S_BIN")"
  mset go_toolchain "$(jstr "$GO_TOOLCHAIN")"
  mset k8s_tags "$(jstr "$K8S_TAGS")"   # hack/components.sh builds with the same
}

main() {
  [[ $# -eq 1 || ( $# -eq 3 && "$2" == --only ) || ( $# -eq 2 && "$2" == --node-rootfs ) ]] \
    || die "usage: $0 RELEASE [--only kube-apiserver,kubelet,...|--node-rootfs]   (e.g. 1.28)"
  release_vars "$1"
  if [[ $# -eq 2 ]]; then   # the node's Debian root filesystem (hack/build-images.sh's choice)
    if [[ -n "$CONTAINERD_VERSION" ]]; then echo node2; else echo node; fi
    return 0
  fi
  clean_stale_tmp
  if [[ $# -eq 3 ]]; then
    local t1; t1=$(date +%s)
    [[ -s "$MANIFEST" ]] || mset complete false
    build_k8s_only "$3"
    echo "[timing] total-only $(( $(date +%s) - t1 ))s"
    return 0
  fi
  local t0; t0=$(date +%s)
  mset release "$(jstr "$RELEASE")"
  mset complete false
  build_k8s
  build_kind
  kubeadm_images
  build_etcd
  build_coredns
  build_pause
  build_crictl
  build_cni_plugins
  if [[ -n "$CONTAINERD_VERSION" ]]; then build_containerd; fi
  if [[ -n "$RUNC_VERSION" ]]; then build_runc; fi
  build_agnhost
  build_lpp
  build_kindnetd
  mset complete true
  echo "[timing] total $(( $(date +%s) - t0 ))s"
  echo "manifest: $MANIFEST"
}

main "$@"; exit $?
