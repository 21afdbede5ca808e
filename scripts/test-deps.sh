#!/usr/bin/env bash
# Installs the Debian packages the test suite drives (real peers and tools), once; safe to run again.
set -euo pipefail

# tool -> Debian package. Add a line when a test starts driving a new real client.
declare -A PACKAGES=(
  [promtool]=prometheus
  [cloud-init]=cloud-init
  [xmllint]=libxml2-utils
  [curl]=curl
  [shellcheck]=shellcheck
  [python3]=python3
  [dash]=dash
  [qemu-system-x86_64]=qemu-system-x86
  [dnsmasq]=dnsmasq-base
  [dhclient]=isc-dhcp-client
  [dhcpcd]=dhcpcd5
  [busybox]=busybox-static
  [tftp]=tftp-hpa
  [atftp]=atftp
  [in.tftpd]=tftpd-hpa
  [tcpdump]=tcpdump
  [tshark]=tshark
  [perfdhcp]=kea-admin
  [kea-dhcp4]=kea-dhcp4-server
  [ethtool]=ethtool
  [ip]=iproute2
  [nft]=nftables
  [nginx]=nginx-light
  [signify-openbsd]=signify-openbsd
  [zstd]=zstd
  [chromium]=chromium
  # iso-builder/build and the appliance ISO test.
  [debootstrap]=debootstrap
  [mksquashfs]=squashfs-tools
  [xorriso]=xorriso
  [mformat]=mtools
  [mcopy]=mtools
  [grub-mkrescue]=grub-common
  [mkfs.vfat]=dosfstools
  [mkfs.ext4]=e2fsprogs
)

# file -> Debian package, for what tests read rather than run. busybox-static, not busybox: its udhcpc applet is the
# udhcpc client (Debian's udhcpc package conflicts with it) and the test initramfs needs a static binary.
declare -A FILES=(
  [/usr/lib/ipxe/ipxe.efi]=ipxe
  [/usr/lib/ipxe/qemu/efi-virtio.rom]=ipxe-qemu
  [/usr/share/OVMF/OVMF_CODE.fd]=ovmf
  [/boot/vmlinuz-*]=linux-image-amd64
  # Debian's, by path: a pyenv shim named aws may come first on PATH, and the S3 tests drive /usr/bin/aws.
  [/usr/bin/aws]=awscli
  [/usr/bin/s3cmd]=s3cmd
  # The status page names system fonts only; without one installed, chromium's screenshots show empty boxes.
  [/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf]=fonts-dejavu-core
  # grub-mkrescue makes the ISO bootable by BIOS and by UEFI from these two.
  [/usr/lib/grub/i386-pc/boot.img]=grub-pc-bin
  [/usr/lib/grub/x86_64-efi/kernel.img]=grub-efi-amd64-bin
)

missing=()
for tool in "${!PACKAGES[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGES[$tool]}")
done
for pattern in "${!FILES[@]}"; do
  compgen -G "$pattern" >/dev/null || missing+=("${FILES[$pattern]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps the install small; policy-rc.d stops packages (prometheus) starting daemons here.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}"
