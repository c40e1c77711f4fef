#!/usr/bin/env bash
# ceph-rgw-stop.sh - stop the daemons that ceph-rgw-start.sh started in DIR. Only PIDs from
# DIR/run/*.pid are signalled, and only while the PID still is the expected Ceph executable started
# with DIR/ceph.conf (SIGTERM, SIGKILL after 10 s), so a reused PID is never hit.
#
# Usage:  ceph-rgw-stop.sh DIR [--purge]     (--purge deletes DIR afterwards)
set -uo pipefail
DIR=${1:?usage: $0 DIR [--purge]}
[[ -d $DIR ]] || { echo "no such directory: $DIR" >&2; exit 0; }
DIR=$(cd "$DIR" && pwd -P)

stop_one() {   # pidfile exe-basename
  local f=$1 exe=$2 pid i path
  [[ -s $f ]] || return 0
  pid=$(cat "$f")
  [[ $pid =~ ^[0-9]+$ ]] || { rm -f "$f"; return 0; }
  path=$(readlink "/proc/$pid/exe" 2>/dev/null) || path=
  # only a live $exe that was started with this DIR's ceph.conf
  if ! kill -0 "$pid" 2>/dev/null ||
     [[ $path != */"$exe" && $path != */"$exe (deleted)" ]] ||
     ! tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$DIR/ceph.conf"; then
    rm -f "$f"; return 0
  fi
  echo "stopping $exe (pid $pid)" >&2
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "  $exe did not exit after 10s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

# order matters: gateway first, then the OSD, the monitor last
stop_one "$DIR/run/client.rgw.local.pid" radosgw
stop_one "$DIR/run/osd.0.pid" ceph-osd
stop_one "$DIR/run/mon.a.pid" ceph-mon

if [[ ${2:-} == --purge ]]; then
  rm -rf "$DIR"
  echo "removed $DIR" >&2
fi
exit 0
