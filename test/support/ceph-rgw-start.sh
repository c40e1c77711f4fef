#!/usr/bin/env bash
# ceph-rgw-start.sh - the project's real S3 server for integration and mounted tests: a throw-away
# single-node Ceph cluster (1 mon, 1 OSD, no mgr, auth none, pool size 1) plus radosgw (beast),
# everything bound to 127.0.0.1 and kept under DIR. Daemons are only ever stopped by PID files.
#
# Usage:  ceph-rgw-start.sh DIR [RGW_PORT]
#
# Environment (all optional):
#   RGW_PORT          S3 port (default 41500; 2nd argument wins)
#   CEPH_MON_PORT     monitor port (default RGW_PORT+10); daemons bind RGW_PORT+20..+59
#   CEPH_OSD_STORE    memstore (default: RAM only, ~3 s to start, memory is given back once
#                     radosgw's garbage collector reclaims deleted data) or bluestore (a sparse
#                     file DIR/osd/ceph-0/block, ~8 s to start, survives restarts)
#   CEPH_MEMSTORE_BYTES  memstore capacity in bytes (default 12 GiB; the OSD reports "full"
#                     past it instead of growing without bound)
#   CEPH_OSD_SIZE_GB  size of the sparse bluestore file (default 20)
#   S3_ACCESS_KEY / S3_SECRET_KEY / S3_USER   credentials to create
#   S3_BUCKETS        space-separated bucket names to create (if missing)
#   CEPH_NO_APT=1     never call apt-get (fail if packages are missing)
#
# Idempotent: re-running with the same DIR reuses the cluster and only starts what is not
# running. Exits 0 once the S3 endpoint answers and the S3 user exists; prints endpoint and keys
# (also written to DIR/s3.env). Stop with ceph-rgw-stop.sh DIR [--purge].
set -euo pipefail

DIR=${1:?usage: $0 DIR [RGW_PORT]}
PORT=${2:-${RGW_PORT:-41500}}
MON_PORT=${CEPH_MON_PORT:-$((PORT + 10))}
PORT_MIN=$((PORT + 20))
PORT_MAX=$((PORT + 59))
STORE=${CEPH_OSD_STORE:-memstore}
OSD_SIZE_GB=${CEPH_OSD_SIZE_GB:-20}
MEMSTORE_BYTES=${CEPH_MEMSTORE_BYTES:-12884901888}
ACCESS_KEY=${S3_ACCESS_KEY:-rgwtestaccesskey0001}
SECRET_KEY=${S3_SECRET_KEY:-rgwtestsecretkey00000000000000000000001}
S3_USER=${S3_USER:-tester}
RGW_NAME=client.rgw.local

log() { printf '[ceph-rgw %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1fs", b-a}'; }

# ---------------------------------------------------------------- packages
# The list lives in scripts/test-prerequisites.sh (group ceph); it installs what is missing with
# apt-get, updating the package lists only when the install needs it.
PREREQ=$(cd "$(dirname "$0")/../.." && pwd)/scripts/test-prerequisites.sh
if [[ ${CEPH_NO_APT:-0} == 1 ]]; then
  "$PREREQ" ceph || die "missing packages (CEPH_NO_APT=1 forbids apt-get)"
else
  "$PREREQ" --install ceph || die "could not install the Ceph packages"
fi

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
CONF=$DIR/ceph.conf
export CEPH_CONF=$CONF
mkdir -p "$DIR"/{mon,osd,run,log,crash,rgw}
# one start at a time per DIR; daemons are started with 9>&- so that they
# do not inherit (and keep holding) the lock
exec 9>"$DIR/.start.lock"
flock -w 300 9 || die "another ceph-rgw-start.sh holds $DIR/.start.lock"

# is the PID in pid file $1 a live $2 process started with our ceph.conf?
pid_alive() {
  local f=$1 exe=$2 pid path
  [[ -s $f ]] || return 1
  pid=$(cat "$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  path=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ $path == */"$exe" || $path == */"$exe (deleted)" ]] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$CONF"
}
stop_pidfile() {  # pidfile exe: SIGTERM (then SIGKILL after 10s) a PID we started
  local f=$1 exe=$2 pid i
  pid_alive "$f" "$exe" || { rm -f "$f"; return 0; }
  pid=$(cat "$f"); kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$f"
}
endpoint_ok() {
  local code
  code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$PORT/") || true
  [[ $code == 200 ]]
}
port_busy() { ss -Htln "sport = :$1" | grep -q .; }
cephq() { timeout 30 ceph --connect-timeout 10 "$@"; }

# ---------------------------------------------------------------- config
if [[ -s $DIR/fsid ]]; then FSID=$(cat "$DIR/fsid"); else FSID=$(uuidgen); echo "$FSID" >"$DIR/fsid"; fi
if [[ -s $DIR/osd.uuid ]]; then OSD_UUID=$(cat "$DIR/osd.uuid"); else OSD_UUID=$(uuidgen); echo "$OSD_UUID" >"$DIR/osd.uuid"; fi
if [[ -s $DIR/store ]]; then STORE=$(cat "$DIR/store"); else echo "$STORE" >"$DIR/store"; fi

case $STORE in
  bluestore) STORE_CONF="osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
bluestore_block_db_create = false
bluestore_block_wal_create = false
osd_memory_target = 1073741824" ;;
  memstore) STORE_CONF="osd_objectstore = memstore
memstore_device_bytes = $MEMSTORE_BYTES" ;;
  *) die "CEPH_OSD_STORE must be bluestore or memstore" ;;
esac

# admin sockets are Unix sockets (path <= 107 bytes): disable them for long DIRs
ASOK="$DIR/run/\$cluster-\$name.asok"
((${#DIR} + 32 > 107)) && ASOK=

cat >"$CONF.tmp" <<EOF
# generated by ceph-rgw-start.sh - single node, loopback only, auth none
[global]
fsid = $FSID
mon_host = [v2:127.0.0.1:$MON_PORT]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_msgr2 = true
ms_bind_port_min = $PORT_MIN
ms_bind_port_max = $PORT_MAX
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
keyring = $DIR/keyring
run_dir = $DIR/run
admin_socket = $ASOK
pid_file = $DIR/run/\$name.pid
log_file = $DIR/log/\$name.log
mon_cluster_log_file = $DIR/log/\$cluster.log
crash_dir = $DIR/crash
log_to_stderr = false
err_to_stderr = true
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
# faster map updates (pool creation, OSD boot) on a one-monitor cluster
paxos_propose_interval = 0.1
# the monitor warns below 30% and shuts itself down below 5% free space on
# the filesystem holding DIR; a test box is often fuller than that
mon_data_avail_warn = 2
mon_data_avail_crit = 1
# fail instead of hanging for 5 minutes when the monitor is unreachable
client_mount_timeout = 30

[mon]
mon_data = $DIR/mon/\$cluster-\$id

[osd]
osd_data = $DIR/osd/\$cluster-\$id
$STORE_CONF

[$RGW_NAME]
rgw_frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
# radosgw forces ms_mon_client_mode=secure, which auth 'none' cannot provide
ms_mon_client_mode = crc
rgw_data = $DIR/rgw
rgw_thread_pool_size = 128
# give up (exit) if initialisation blocks, e.g. on unavailable PGs
rgw_init_timeout = 60
# reclaim space of deleted/overwritten objects quickly (default 2h)
rgw_gc_obj_min_wait = 60
rgw_gc_processor_period = 60
EOF
mv "$CONF.tmp" "$CONF"

# ---------------------------------------------------------------- memstore
# memstore keeps objects only in the OSD's RAM (the OSD stops with
# osd_fast_shutdown and never saves them), so once that OSD is gone the
# monitor's pools point at PGs that no longer exist and radosgw would hang.
# Treat a memstore cluster as ephemeral: rebuild it from scratch.
if [[ $STORE == memstore && -e $DIR/osd/ceph-0/ready ]] &&
   ! pid_alive "$DIR/run/osd.0.pid" ceph-osd; then
  log "memstore OSD is not running (its data is gone): recreating the cluster"
  stop_pidfile "$DIR/run/$RGW_NAME.pid" radosgw
  stop_pidfile "$DIR/run/mon.a.pid" ceph-mon
  rm -rf "$DIR/mon" "$DIR/osd" "$DIR/keyring" "$DIR/monmap"
  mkdir -p "$DIR/mon" "$DIR/osd"
fi

# ---------------------------------------------------------------- fast path
# everything already running and answering: skip the (slow) ceph CLI checks
if pid_alive "$DIR/run/mon.a.pid" ceph-mon && pid_alive "$DIR/run/osd.0.pid" ceph-osd &&
   pid_alive "$DIR/run/$RGW_NAME.pid" radosgw && endpoint_ok; then
  log "already running"
else

# ---------------------------------------------------------------- monitor
MON_DATA=$DIR/mon/ceph-a
if [[ ! -e $MON_DATA/store.db ]]; then
  log "creating monitor (fsid $FSID)"
  rm -rf "$MON_DATA"
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --clobber --fsid "$FSID" \
    --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring"
fi
if ! pid_alive "$DIR/run/mon.a.pid" ceph-mon; then
  port_busy "$MON_PORT" && die "port $MON_PORT already in use (set CEPH_MON_PORT)"
  log "starting ceph-mon"
  ceph-mon -c "$CONF" -i a 9>&- || die "ceph-mon failed, see $DIR/log/mon.a.log"
fi
for i in $(seq 60); do cephq mon stat >/dev/null 2>&1 && break; sleep 1; done
cephq mon stat >/dev/null || die "monitor did not come up, see $DIR/log/mon.a.log"
log "monitor up ($(elapsed))"

# ---------------------------------------------------------------- OSD
OSD_ID=$(cephq osd new "$OSD_UUID" 0)   # idempotent for the same uuid
[[ $OSD_ID == 0 ]] || die "unexpected osd id '$OSD_ID'"
OSD_DATA=$DIR/osd/ceph-0
if [[ ! -e $OSD_DATA/ready ]]; then
  log "creating OSD 0 ($STORE)"
  rm -rf "$OSD_DATA"; mkdir -p "$OSD_DATA"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" 2>"$DIR/log/osd-mkfs.err" \
    || { cat "$DIR/log/osd-mkfs.err" >&2; die "ceph-osd --mkfs failed"; }
  touch "$OSD_DATA/ready"
fi
if ! pid_alive "$DIR/run/osd.0.pid" ceph-osd; then
  log "starting ceph-osd"
  ceph-osd -c "$CONF" -i 0 9>&- || die "ceph-osd failed, see $DIR/log/osd.0.log"
fi
for i in $(seq 90); do
  cephq osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1' && break; sleep 1
done
cephq osd stat -f json | grep -q '"num_up_osds":1' || die "OSD not up, see $DIR/log/osd.0.log"
log "osd up ($(elapsed))"

# ---------------------------------------------------------------- radosgw
if ! pid_alive "$DIR/run/$RGW_NAME.pid" radosgw; then
  port_busy "$PORT" && die "port $PORT already in use"
  log "starting radosgw on 127.0.0.1:$PORT"
  radosgw -c "$CONF" -n "$RGW_NAME" 9>&- || die "radosgw failed, see $DIR/log/$RGW_NAME.log"
fi
for i in $(seq 120); do endpoint_ok && break; sleep 1; done
endpoint_ok || die "radosgw not answering, see $DIR/log/$RGW_NAME.log"
log "radosgw answering ($(elapsed))"
fi   # fast path

# ---------------------------------------------------------------- S3 user
if ! info=$(radosgw-admin user info --uid="$S3_USER" 2>/dev/null); then
  radosgw-admin user create --uid="$S3_USER" --display-name="S3 test user" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
elif ! grep -q "\"access_key\": \"$ACCESS_KEY\"" <<<"$info"; then
  radosgw-admin key create --uid="$S3_USER" --key-type=s3 \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
fi
# optional buckets (also warms up: the first bucket creates the index/data pools)
for b in ${S3_BUCKETS:-}; do
  code=$(curl -s -o "$DIR/log/mkbucket.out" -w '%{http_code}' -m 30 -X PUT \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "http://127.0.0.1:$PORT/$b") || true
  [[ $code == 200 ]] || die "creating bucket $b: HTTP $code $(cat "$DIR/log/mkbucket.out")"
done
log "ready ($(elapsed))"

cat >"$DIR/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$PORT
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_DEFAULT_REGION=us-east-1
EOF
cat "$DIR/s3.env"
exit 0
