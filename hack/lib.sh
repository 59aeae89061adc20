#!/usr/bin/env bash
# Shared bash helpers for kconformance build scripts.
# Source it:  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Stable API (do not rely on anything not listed here):
#   KC_CACHE               cache root (${KCONFORMANCE_CACHE:-$HOME/.cache/kconformance}), created
#   KC_LOGS                $KC_CACHE/logs, created
#   log MSG...             print "[kc] MSG" to stderr
#   die MSG...             print "error: MSG" to stderr, exit 1
#   step NAME -- CMD ARGS...
#       runs CMD with stdout+stderr to $KC_LOGS/NAME.log, prints "[timing] NAME <secs>s";
#       on failure prints "step NAME failed: CMD", the last 30 log lines, and exits non-zero.
#   skip_step NAME REASON  print "[timing] NAME 0s (cached: REASON)"
#   have_output PATH...    true if every PATH exists (file non-empty, or directory)
#   tmp_for PATH           echo a fresh temp path next to PATH (same filesystem, for atomic mv)
#   commit_output TMP DEST atomically move TMP into place as DEST (replacing any old DEST)
#   json_set FILE KEY JSON merge top-level KEY=<JSON value> into FILE (created if missing), atomic
#   json_get FILE KEY      print value of top-level KEY (raw for strings), empty if absent

set -o errexit -o nounset -o pipefail

KC_CACHE="${KCONFORMANCE_CACHE:-$HOME/.cache/kconformance}"
KC_LOGS="$KC_CACHE/logs"
mkdir -p "$KC_CACHE" "$KC_LOGS"
export KC_CACHE KC_LOGS

log() { echo "[kc] $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

step() {
  local name="$1"; shift
  [[ "${1:-}" == "--" ]] && shift
  [[ $# -gt 0 ]] || die "step $name: no command given"
  local logf="$KC_LOGS/$name.log" start end rc=0
  mkdir -p "$(dirname "$logf")"
  start=$(date +%s)
  { echo "# $(date -u +%FT%TZ) step $name: $*"; } >"$logf"
  ( "$@" ) >>"$logf" 2>&1 || rc=$?
  end=$(date +%s)
  echo "[timing] $name $((end - start))s"
  if [[ $rc -ne 0 ]]; then
    echo "step $name failed: $*" >&2
    echo "---- last 30 lines of $logf ----" >&2
    tail -n 30 "$logf" >&2
    exit "$rc"
  fi
}

skip_step() { echo "[timing] $1 0s (cached: ${2:-output exists})"; }

have_output() {
  local p
  for p in "$@"; do
    if [[ -d "$p" ]]; then continue; fi
    [[ -s "$p" ]] || return 1
  done
  return 0
}

tmp_for() {
  local dest="$1"
  mkdir -p "$(dirname "$dest")"
  echo "$(dirname "$dest")/.tmp.$(basename "$dest").$$.$RANDOM"
}

commit_output() {
  local tmp="$1" dest="$2"
  [[ -e "$tmp" ]] || die "commit_output: $tmp does not exist"
  mkdir -p "$(dirname "$dest")"
  if [[ -e "$dest" ]]; then
    local old; old="$(tmp_for "$dest").old"
    mv -T "$dest" "$old"
    mv -T "$tmp" "$dest"
    rm -rf "$old"
  else
    mv -T "$tmp" "$dest"
  fi
}

json_set() {
  local file="$1" key="$2" value="$3"
  mkdir -p "$(dirname "$file")"
  python3 - "$file" "$key" "$value" <<'PY'
import json, os, sys, tempfile
f, k, v = sys.argv[1], sys.argv[2], sys.argv[3]
d = {}
if os.path.exists(f):
    with open(f) as fh:
        d = json.load(fh)
d[k] = json.loads(v)
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(f) or ".", prefix=".tmp.")
with os.fdopen(fd, "w") as fh:
    json.dump(d, fh, indent=2, sort_keys=True)
    fh.write("\n")
os.replace(tmp, f)
PY
}

json_get() {
  python3 - "$1" "$2" <<'PY'
import json, os, sys
f, k = sys.argv[1], sys.argv[2]
if not os.path.exists(f):
    sys.exit(0)
v = json.load(open(f)).get(k)
if v is None:
    sys.exit(0)
print(v if isinstance(v, str) else json.dumps(v))
PY
}
