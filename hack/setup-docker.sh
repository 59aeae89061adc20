#!/usr/bin/env bash
# Make a Docker engine available on this machine (idempotent).
#  - does nothing if `docker info` already answers;
#  - installs Debian's docker.io (+ debootstrap, jq, iptables) when missing;
#  - when the capability bounding set lacks capabilities Docker asks for with
#    --privileged (CAP_SYS_RESOURCE in this VM), installs hack/runc-wrapper as
#    dockerd's default runtime;
#  - starts dockerd in the background (no systemd on the host), logs to
#    $CACHE/logs/dockerd.log, and waits until it answers.
set -euo pipefail
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${KCONFORMANCE_CACHE:-$HOME/.cache/kconformance}"
mkdir -p "$CACHE/logs" "$CACHE/docker"

log() { echo "[setup-docker] $*" >&2; }

# kind's known issue: past a few nodes the kubelets die with "too many open files" (inotify).
raise_inotify() {
  local key want have
  for pair in max_user_watches=524288 max_user_instances=512; do
    key="${pair%%=*}"; want="${pair#*=}"
    have="$(cat "/proc/sys/fs/inotify/$key" 2>/dev/null || echo 0)"
    if [ "$have" -lt "$want" ]; then
      if sysctl -q -w "fs.inotify.$key=$want" 2>/dev/null; then
        log "raised fs.inotify.$key from $have to $want (kind clusters need it)"
      else
        log "warning: fs.inotify.$key is $have; raise it to $want (sysctl -w) or kind nodes may fail"
      fi
    fi
  done
}

raise_inotify

if docker info >/dev/null 2>&1; then
  rt="$(docker info -f '{{.DefaultRuntime}}' 2>/dev/null || true)"
  log "docker already answers (default runtime: $rt); nothing to do"
  if [[ "$rt" != kc-runc ]] && ! grep -q '^CapBnd:\s*000001ffffffffff' /proc/self/status; then
    log "warning: the bounding set lacks capabilities and dockerd was not started by this script: --privileged may fail"
  fi
  exit 0
fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v runc >/dev/null 2>&1 || need+=(runc)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >"$CACHE/logs/apt-update.log" 2>&1 || { cat "$CACHE/logs/apt-update.log" >&2; exit 1; }
  # policy-rc.d: never let the package try to start services (there is no systemd here).
  apt-get install -y -q --no-install-recommends "${need[@]}" >"$CACHE/logs/apt-install-docker.log" 2>&1 \
    || { tail -50 "$CACHE/logs/apt-install-docker.log" >&2; exit 1; }
fi

# Capabilities missing from the bounding set (names as used in OCI specs).
CAPS=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
  LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER
  SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE
  SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
  MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
  CHECKPOINT_RESTORE)
bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
last_cap=$(cat /proc/sys/kernel/cap_last_cap 2>/dev/null || echo 40)
drop=""
for ((i = 0; i <= last_cap && i < ${#CAPS[@]}; i++)); do
  if (( (16#$bnd >> i & 1) == 0 )); then
    drop+="${drop:+,}CAP_${CAPS[$i]}"
  fi
done

args=(--log-level=warn)
if [ -n "$drop" ]; then
  log "capability bounding set $bnd lacks $drop: using runc wrapper"
  real_runc=$(command -v runc)
  wrapper="$CACHE/docker/runc-wrapper"
  sed -e "s|@REAL_RUNC@|$real_runc|" -e "s|@DROP_CAPS@|$drop|" -e "s|@JQ@|$(command -v jq)|" \
    "$HACK/runc-wrapper" >"$wrapper.tmp"
  chmod +x "$wrapper.tmp" && mv "$wrapper.tmp" "$wrapper"
  args+=(--add-runtime "kc-runc=$wrapper" --default-runtime kc-runc)
fi

# A stale pid file from a previous session (processes die with the session).
for f in /var/run/docker.pid /run/docker/containerd/containerd.pid; do
  if [ -f "$f" ] && ! kill -0 "$(cat "$f")" 2>/dev/null; then rm -f "$f"; fi
done

log "starting dockerd ${args[*]} (log: $CACHE/logs/dockerd.log)"
echo "=== $(date -Is) dockerd ${args[*]}" >>"$CACHE/logs/dockerd.log"
nohup setsid dockerd "${args[@]}" >>"$CACHE/logs/dockerd.log" 2>&1 </dev/null &
echo $! >"$CACHE/docker/dockerd.pid"

for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    log "dockerd is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    exit 0
  fi
  if ! kill -0 "$(cat "$CACHE/docker/dockerd.pid")" 2>/dev/null; then
    log "dockerd exited; last log lines:"; tail -30 "$CACHE/logs/dockerd.log" >&2; exit 1
  fi
  sleep 1
done
log "dockerd did not answer within 120s"; tail -30 "$CACHE/logs/dockerd.log" >&2; exit 1
