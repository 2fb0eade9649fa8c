#!/bin/sh
# Installs what lazybk's build and tests need, if missing, and says exactly what it runs.
# Usage: tools/deps.sh [extra-debian-package...]
set -e
need=""
have_header() { [ -f "$1" ]; }
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_header /usr/include/stb/stb_ds.h || need="$need libstb-dev"
have_header /usr/include/cmocka.h     || need="$need libcmocka-dev"
have_header /usr/include/dlpack/dlpack.h || need="$need libdlpack-dev"
have_cmd dot                          || need="$need graphviz"
have_cmd pkg-config                   || need="$need pkg-config"
have_cmd cc                           || need="$need gcc"
have_cmd c++                          || need="$need g++"   # make cuda: the emulated device compiles kernels as C++
have_cmd clang                        || need="$need clang" # make check-std and make cuda build with clang and clang++ too
have_cmd make                         || need="$need make"
for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
    have_cmd sudo || { echo "deps: missing packages:$need; run as root: apt-get install -y$need" >&2; exit 1; }
else
    SUDO=
fi
echo "deps: installing:$need"
export DEBIAN_FRONTEND=noninteractive
echo "deps: running: apt-get install -y$need"
if ! $SUDO apt-get install -y $need; then
    echo "deps: running: apt-get update"
    $SUDO apt-get update
    echo "deps: running: apt-get install -y$need"
    $SUDO apt-get install -y $need
fi
