#!/usr/bin/env bash
# The one list of the Debian packages bucketfs's install and tests need, and the check that runs
# before the tests: `npm test` runs it first, .ci/run and test/support/ceph-rgw-start.sh install
# from it. A package counts as present when its probe — a command on PATH, or for a library the
# dpkg status — says so, so a tool installed another way is accepted too.
#
# Usage: scripts/test-prerequisites.sh [--install] [--list] [GROUP...]
#   GROUP    build (compile fuse-native, mount), tools (what mounted tests drive), ceph (the local
#            S3 server). Default: tools, plus ceph unless BUCKETFS_TEST_S3=s3rver.
#   --list     print the groups' packages, one per line, and exit.
#   --install  install what is missing with apt-get (as root). Without it, missing packages are
#            installed only as root with apt-get AND with CI=true or BUCKETFS_INSTALL_TEST_TOOLS=1;
#            otherwise ONE line names them and the apt-get command, and the exit status is 1.
set -euo pipefail

# package:probe — a probe starting with / or dpkg: is checked with dpkg-query, any other is a command.
build=(fuse:fusermount libfuse2:dpkg build-essential:make build-essential:g++ python3:python3)
tools=(fuse:fusermount python3:python3 rsync:rsync restic:restic sqlite3:sqlite3 git:git tar:tar
  xxd:xxd procps:ps psmisc:fuser util-linux:setpriv util-linux:flock acl:setfacl acl:getfacl attr:setfattr
  attr:getfattr fio:fio)
ceph=(ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw ceph-common:ceph ceph-common:monmaptool
  uuid-runtime:uuidgen iproute2:ss curl:curl)

install=0 list=0 groups=()
for arg in "$@"; do
  case $arg in
    --install) install=1 ;;
    --list) list=1 ;;
    build | tools | ceph) groups+=("$arg") ;;
    *) echo "test-prerequisites.sh: unknown argument '$arg' (groups: build tools ceph; --install, --list)" >&2; exit 2 ;;
  esac
done
if ((${#groups[@]} == 0)); then
  groups=(tools)
  [[ ${BUCKETFS_TEST_S3:-ceph} == s3rver ]] || groups+=(ceph)
fi

entries=()
for group in "${groups[@]}"; do
  declare -n list_ref=$group
  entries+=("${list_ref[@]}")
  unset -n list_ref
done

present() { # package probe
  if [[ $2 == dpkg ]]; then
    command -v dpkg-query >/dev/null || return 0 # not Debian: nothing to ask, the build will tell
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == *' installed' ]]
  else
    command -v "$2" >/dev/null
  fi
}

missing=()
for entry in "${entries[@]}"; do
  package=${entry%%:*} probe=${entry#*:}
  if ((list)); then
    [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
  elif ! present "$package" "$probe" && [[ " ${missing[*]} " != *" $package "* ]]; then
    missing+=("$package")
  fi
done
if ((list)); then
  printf '%s\n' "${missing[@]}"
  exit 0
fi
((${#missing[@]} == 0)) && exit 0

apt_command="sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
allowed=$install
[[ ${CI:-} == true || ${CI:-} == 1 || ${BUCKETFS_INSTALL_TEST_TOOLS:-} == 1 ]] && allowed=1
if ((allowed)) && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "bucketfs: installing ${missing[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Package lists may be missing or stale on a fresh machine: update only when the install needs it.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "bucketfs: the tests need ${missing[*]} (not installed): install them with your package manager" >&2
elif ((install)); then
  echo "bucketfs: installing ${missing[*]} needs root: sudo $0 --install ${groups[*]}" >&2
else
  echo "bucketfs: the tests need ${missing[*]} (not installed): run $apt_command (or, as root, BUCKETFS_INSTALL_TEST_TOOLS=1 npm test)" >&2
fi
exit 1
