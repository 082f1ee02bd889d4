#!/usr/bin/env bash
# Installs what atomcut needs (Debian 12 packages listed in deps/apt-packages.txt) when missing,
# then configures and builds into build/ (or $ATOMCUT_BUILD_DIR).
#   ATOMCUT_SANITIZE=1   build with AddressSanitizer + UndefinedBehaviorSanitizer
#   ATOMCUT_SKIP_INSTALL=1  do not touch packages
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

install_missing_packages() {
  local wanted=() missing=()
  mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' deps/apt-packages.txt | tr -d ' ')
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

if [ "${ATOMCUT_SKIP_INSTALL:-0}" != "1" ]; then install_missing_packages; fi

build_dir="${ATOMCUT_BUILD_DIR:-build}"
sanitize=OFF
if [ "${ATOMCUT_SANITIZE:-0}" = "1" ]; then
  sanitize=ON
  build_dir="${ATOMCUT_BUILD_DIR:-build-asan}"
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${ATOMCUT_BUILD_TYPE:-RelWithDebInfo}" \
  -DATOMCUT_SANITIZE="$sanitize" >/dev/null
ninja -C "$build_dir"
echo "setup: built $build_dir/atomcut"
