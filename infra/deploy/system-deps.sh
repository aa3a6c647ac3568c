#!/usr/bin/env bash
# Machine packages that `make test` uses, installed every time (a fresh CI machine must get them):
# Debian's Chromium (Playwright drives it), CJK fonts (Chinese text in generated images), wrk
# (load for benchmarks), gettext (makemessages); then the frontend's npm packages.
set -euo pipefail
cd "$(dirname "$0")/../.."

packages=(chromium fonts-noto-cjk wrk gettext)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # Wait for another apt run rather than fail on its lock.
    apt-get -o DPkg::Lock::Timeout=300 update
    apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${packages[@]}"
    # A package left half-installed (status "reinstreq") needs --reinstall.
    for package in "${missing[@]}"; do
        if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "reinstreq"; then
            apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends --reinstall "$package"
        fi
    done
elif [ ${#missing[@]} -eq 0 ]; then
    echo "system-deps: not root, and ${packages[*]} are already installed; skipping apt-get"
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n apt-get -o DPkg::Lock::Timeout=300 update
    sudo -n DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
        --no-install-recommends "${packages[@]}"
else
    echo "system-deps: missing ${missing[*]}; run as root: apt-get install ${packages[*]}" >&2
    exit 1
fi

# npm packages of the consoles and of the mini-program, where they exist; the "vendor" script
# copies the consoles' browser assets into frontend/static/vendor.
for dir in frontend frontend/miniprogram; do
    if [ -f "$dir/package.json" ]; then
        if [ -f "$dir/package-lock.json" ]; then
            (cd "$dir" && npm ci --no-audit --no-fund)
        else
            (cd "$dir" && npm install --no-audit --no-fund)
        fi
        (cd "$dir" && npm run --if-present vendor)
    fi
done
