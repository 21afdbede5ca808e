#!/usr/bin/env bash
# Copies the iPXE loaders goosed embeds (undionly.kpxe, ipxe.efi, snponly.efi) from Debian's ipxe package into
# assets/loaders/. Not committed: the build takes whatever Debian ships. Uses the installed package when present,
# else downloads the .deb (no root needed). --soft warns instead of failing, for `npm start` on a bare machine.
set -euo pipefail
cd "$(dirname "$0")/.."

LOADERS=(undionly.kpxe ipxe.efi snponly.efi)
DEST=assets/loaders
mkdir -p "$DEST"

have_all() {
  for name in "${LOADERS[@]}"; do [ -s "$DEST/$name" ] || return 1; done
}
have_all && exit 0

source_dir=/usr/lib/ipxe
if [ ! -s "$source_dir/undionly.kpxe" ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  if (cd "$scratch" && apt-get download ipxe >/dev/null 2>&1) && dpkg-deb -x "$scratch"/ipxe_*.deb "$scratch/root"; then
    source_dir="$scratch/root/usr/lib/ipxe"
  else
    message="fetch-loaders: Debian's ipxe package is not installed and could not be downloaded; install it (apt-get install ipxe) or import a bundle that brings loaders"
    if [ "${1:-}" = "--soft" ]; then
      echo "$message; network boot over TFTP will refuse until then" >&2
      exit 0
    fi
    echo "$message" >&2
    exit 1
  fi
fi
for name in "${LOADERS[@]}"; do
  cp "$source_dir/$name" "$DEST/$name.tmp" && mv "$DEST/$name.tmp" "$DEST/$name"
done
echo "fetch-loaders: ${LOADERS[*]} from $source_dir"
