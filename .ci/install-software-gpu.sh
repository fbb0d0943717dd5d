#!/usr/bin/env bash
# Installs a software Vulkan driver (Mesa lavapipe from bookworm-backports) so Dawn finds an adapter
# on machines without a GPU. The mirror is read from the configured Debian sources, never hard-coded.
set -euo pipefail
[ "$(id -u)" = 0 ] || SUDO=sudo
SUDO=${SUDO:-}
if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 &&
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '~bpo'; then
  echo "software GPU: lavapipe from backports already installed"
  exit 0
fi
src=/etc/apt/sources.list.d/debian.sources
list=/etc/apt/sources.list.d/gradwise-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  uri=""
  if [ -f "$src" ]; then
    # The URIs line of the stanza whose Suites include plain "bookworm".
    uri=$(awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i=="bookworm"){print u; exit}}' "$src")
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $3=="bookworm"{print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || { echo "software GPU: no bookworm mirror configured; cannot add backports" >&2; exit 1; }
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" | $SUDO tee "$list" >/dev/null
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports \
  mesa-vulkan-drivers libvulkan1 >/dev/null
echo "software GPU: installed $(dpkg-query -W -f='mesa-vulkan-drivers ${Version}' mesa-vulkan-drivers)"
