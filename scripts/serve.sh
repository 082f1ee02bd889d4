#!/usr/bin/env bash
# Installs what is missing, builds, and runs `atomcut serve` on the embedded default
# (SQLite + local files under ./atomcut-data). Extra arguments go to `atomcut serve`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
exec "${ATOMCUT_BUILD_DIR:-build}/atomcut" serve "$@"
