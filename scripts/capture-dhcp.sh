#!/usr/bin/env bash
# Captures the DHCP golden fixtures (test/fixtures/dhcp) from real clients against dnsmasq, in namespaces it removes.
#
#   sudo scripts/capture-dhcp.sh            capture every client, write <name>.bin and its <name>.txt decode
#   sudo scripts/capture-dhcp.sh dhclient   only the named passes (dhclient udhcpc dhcpcd ipxe-bios ovmf)
#   scripts/capture-dhcp.sh --describe      rewrite every .txt from its .bin (after a describeDhcp change)
#
# Topology: namespace S holds a bridge (10.73.0.1/24) with dnsmasq and tcpdump on it; each Linux client
# gets its own namespace C on a veth into the bridge; QEMU runs in S on a tap on the bridge. Each pass
# keeps the first packet of every message type in each direction; server replies are named dnsmasq-*.
# The ovmf pass also yields ipxe-efi-*: OVMF's own PXE client fetches snponly.efi from dnsmasq's TFTP
# server and the chainloaded iPXE sends its own DISCOVER (user class iPXE, option 175).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/test/fixtures/dhcp
export PATH=$ROOT/node_modules/.bin:$PATH

describe_all() {
  # One .txt per .bin through the codec itself, so a fixture's text is what tests and logs print.
  # shellcheck disable=SC2016 # the ${...} are TypeScript's
  bun -e '
    import { decodeDhcp, describeDhcp } from "./src/dhcp/codec.ts";
    const dir = process.argv[1];
    for (const name of new Bun.Glob("*.bin").scanSync(dir)) {
      const decoded = decodeDhcp(new Uint8Array(await Bun.file(`${dir}/${name}`).arrayBuffer()));
      const text = decoded.ok ? describeDhcp(decoded.value) : `undecodable: ${decoded.reason} at ${decoded.offset}`;
      await Bun.write(`${dir}/${name.replace(/\.bin$/, ".txt")}`, `${text}\n`);
    }' "$OUT"
}

if [ "${1:-}" = "--describe" ]; then
  cd "$ROOT" && describe_all
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "capture-dhcp: needs root (network namespaces)" >&2; exit 1; }
for tool in ip ethtool dnsmasq tcpdump tshark dhclient dhcpcd busybox qemu-system-x86_64 bun; do
  command -v "$tool" >/dev/null || { echo "capture-dhcp: $tool is missing; run scripts/test-deps.sh" >&2; exit 1; }
done

PASSES=("$@")
[ ${#PASSES[@]} -eq 0 ] && PASSES=(dhclient udhcpc dhcpcd ipxe-bios ovmf)

ID=$$
NS_S=gdcap$ID-s
BRIDGE=gdbr$ID
TAP=gdtap$ID
TMP=$(mktemp -d /tmp/capture-dhcp.XXXXXX)
CLIENT_NS=()
PIDS=()
# Clients that daemonize (dhclient, dhcpcd) are found by their pid files if a pass fails half-way.
PIDFILES=("$TMP/dhclient.pid" "/run/dhcpcd/gdc${ID}dd.pid" "/run/dhcpcd/gdc${ID}dd-4.pid")

cleanup() {
  local file pid
  for file in "${PIDFILES[@]}"; do
    [ -s "$file" ] || continue
    pid=$(cat "$file")
    # A pid file can outlive its process: only a dhclient or dhcpcd still running under that id is ours.
    grep -qxE 'dhclient|dhcpcd' "/proc/$pid/comm" 2>/dev/null && PIDS+=("$pid")
  done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "${CLIENT_NS[@]}" "$NS_S"; do ip netns del "$ns" 2>/dev/null || true; done
  if [ -n "${CAPTURE_KEEP:-}" ]; then echo "capture-dhcp: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

in_s() { ip netns exec "$NS_S" "$@"; }

# Waits for a line matching $2 in file $1 for up to $3 seconds (a daemon's readiness line).
wait_for_line() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "capture-dhcp: no '$2' in $1 after $3 s" >&2; cat "$1" >&2; return 1; }
    sleep 0.1
  done
}

ip netns add "$NS_S"
in_s ip link set lo up
in_s ip link add "$BRIDGE" type bridge
in_s ip addr add 10.73.0.1/24 dev "$BRIDGE"
in_s ip link set "$BRIDGE" up
in_s sysctl -qw net.ipv6.conf.all.disable_ipv6=1

mkdir -p "$TMP/tftp" "$OUT"
cp /usr/lib/ipxe/snponly.efi "$TMP/tftp/"
# Option 43 sub-option 6 = 8 (PXE 2.1: boot the file in this offer, no boot server discovery) goes to
# PXE firmware only (vendor:PXEClient); iPXE (user class iPXE) gets an http URL and stops chaining.
ip netns exec "$NS_S" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root --group=root \
  --interface="$BRIDGE" --bind-interfaces --pid-file="$TMP/dnsmasq.pid" --dhcp-leasefile="$TMP/dnsmasq.leases" \
  --log-facility="$TMP/dnsmasq.log" --log-dhcp \
  --dhcp-range=10.73.0.100,10.73.0.199,255.255.255.0,1h \
  --dhcp-option=option:router,10.73.0.1 --dhcp-option=option:dns-server,10.73.0.1 \
  --dhcp-option=option:domain-name,lab.test --dhcp-option=option:ntp-server,10.73.0.1 \
  --dhcp-userclass=set:ipxe,iPXE --dhcp-match=set:efi64,option:client-arch,7 \
  --dhcp-boot=tag:ipxe,http://10.73.0.1/boot.ipxe \
  --dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi,,10.73.0.1 \
  --dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,10.73.0.1 \
  --dhcp-option=tag:!ipxe,vendor:PXEClient,6,8 \
  --enable-tftp --tftp-root="$TMP/tftp" >"$TMP/dnsmasq.out" 2>&1 &
PIDS+=($!)
wait_for_line "$TMP/dnsmasq.log" "DHCP, IP range" 10

# Starts tcpdump for pass $1 on the bridge; DHCP only.
start_capture() {
  ip netns exec "$NS_S" tcpdump -i "$BRIDGE" --immediate-mode -U -l -n --print -w "$TMP/$1.pcap" \
    'udp port 67 or udp port 68' >"$TMP/$1.print" 2>"$TMP/$1.tcpdump" &
  CAPTURE_PID=$!
  PIDS+=("$CAPTURE_PID")
  wait_for_line "$TMP/$1.tcpdump" "listening on" 10
}

# Stops once tcpdump has seen a marker sent after the pass, so no packet of the pass is still in its buffer.
stop_capture() {
  # Nobody has 10.73.0.250: a fixed neighbour lets the marker leave on the bridge without waiting for ARP.
  in_s ip neigh replace 10.73.0.250 lladdr 02:00:00:00:00:fe dev "$BRIDGE" nud permanent
  in_s bash -c 'echo -n capture-dhcp-end >/dev/udp/10.73.0.250/67'
  wait_for_line "$TMP/$1.print" "10.73.0.250.67" 10
  kill "$CAPTURE_PID"
  wait "$CAPTURE_PID" || true
}

# A client namespace for pass $1 with its veth on the bridge: interface $2 (a short tag) with MAC $3.
client_ns() {
  local ns=gdcap$ID-$1 ifc=gdc$ID$2 peer=gdp$ID$2
  ip netns add "$ns"
  CLIENT_NS+=("$ns")
  ip link add "$ifc" address "$3" netns "$ns" type veth peer name "$peer" netns "$NS_S"
  in_s ip link set "$peer" master "$BRIDGE" up
  # A veth leaves UDP checksums to an offload that never happens; dhclient's raw socket drops such packets.
  in_s ethtool -K "$peer" tx off >/dev/null
  ip netns exec "$ns" ethtool -K "$ifc" tx off >/dev/null
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip link set "$ifc" up
}

# dhclient and udhcpc hand the address to a script; this one only sets it, so their RELEASE has a source address.
cat >"$TMP/client-script" <<'EOF'
#!/bin/sh
case "${reason:-$1}" in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" && echo "address set" ;;
  bound|renew) ip addr replace "$ip/$subnet" dev "$interface" && echo "address set" ;;
esac
exit 0
EOF
chmod +x "$TMP/client-script"

pass_dhclient() {
  local ns=gdcap$ID-dhclient ifc=gdc${ID}dc
  client_ns dhclient dc 52:54:00:73:00:11
  ip netns exec "$ns" timeout 30 dhclient -1 -v -sf "$TMP/client-script" -lf "$TMP/dhclient.leases" -pf "$TMP/dhclient.pid" "$ifc"
  ip netns exec "$ns" timeout 30 dhclient -r -v -sf "$TMP/client-script" -lf "$TMP/dhclient.leases" -pf "$TMP/dhclient.pid" "$ifc"
}

pass_udhcpc() {
  local ns=gdcap$ID-udhcpc ifc=gdc${ID}ud
  client_ns udhcpc ud 52:54:00:73:00:12
  # udhcpc -q quits before it counts as bound and so never releases: run it, then ask for a release (SIGUSR2).
  # No timeout(1) around it: the signal must reach udhcpc; the waits below bound it.
  ip netns exec "$ns" busybox udhcpc -i "$ifc" -f -t 5 -T 2 -s "$TMP/client-script" >"$TMP/udhcpc.out" 2>&1 &
  local client=$!
  PIDS+=("$client")
  wait_for_line "$TMP/udhcpc.out" "address set" 30
  kill -USR2 "$client"
  wait_for_line "$TMP/dnsmasq.log" "DHCPRELEASE.*52:54:00:73:00:12" 10
  kill "$client"
  wait "$client" || true
  cat "$TMP/udhcpc.out"
}

pass_dhcpcd() {
  local ns=gdcap$ID-dhcpcd ifc=gdc${ID}dd
  client_ns dhcpcd dd 52:54:00:73:00:13
  # Debian's /etc/dhcpcd.conf as shipped (its client-id habit is the point); no hooks, no ARP probe wait.
  # dhcpcd makes a DUID from this veth when the host has none: leave the host as it was.
  local had_duid=
  [ -e /var/lib/dhcpcd/duid ] && had_duid=1
  ip netns exec "$ns" timeout 30 dhcpcd -4 -A -w -t 20 -c /bin/true "$ifc"
  ip netns exec "$ns" timeout 30 dhcpcd -4 -k "$ifc"
  rm -f "/var/lib/dhcpcd/$ifc.lease"
  [ -n "$had_duid" ] || rm -f /var/lib/dhcpcd/duid
}

# Runs QEMU on a tap in S until dnsmasq has acked MAC $1 $2 times (or 60 s pass); the rest are QEMU's args.
run_vm() {
  local mac=$1 acks=$2
  shift 2
  in_s ip tuntap add dev "$TAP" mode tap
  in_s ip link set "$TAP" master "$BRIDGE" up
  ip netns exec "$NS_S" timeout 60 qemu-system-x86_64 -machine accel=tcg -m 256 -nographic -serial none -monitor none \
    -netdev tap,id=n0,ifname="$TAP",script=no,downscript=no "$@" &
  local vm=$!
  PIDS+=("$vm")
  local deadline=$((SECONDS + 60))
  while kill -0 "$vm" 2>/dev/null && [ "$(grep -c "DHCPACK([^)]*) [0-9.]* $mac" "$TMP/dnsmasq.log")" -lt "$acks" ]; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.5
  done
  kill "$vm" 2>/dev/null || true
  wait "$vm" || true
  in_s ip link del "$TAP"
}

pass_ipxe-bios() {
  # SeaBIOS runs the e1000's option ROM, which is iPXE (Debian's ipxe-qemu).
  run_vm 52:54:00:73:00:21 1 -uuid 6f0e6a52-3c1d-4b8e-9a57-0c2f4d1e7b21 -boot n -device e1000,netdev=n0,mac=52:54:00:73:00:21
}

pass_ovmf() {
  cp /usr/share/OVMF/OVMF_VARS.fd "$TMP/ovmf-vars.fd"
  # romfile= drops the NIC's iPXE ROM, so OVMF's own virtio-net driver and PXE client run.
  run_vm 52:54:00:73:00:22 2 -uuid 6f0e6a52-3c1d-4b8e-9a57-0c2f4d1e7b22 \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd \
    -drive if=pflash,format=raw,file="$TMP/ovmf-vars.fd" \
    -device virtio-net-pci,netdev=n0,mac=52:54:00:73:00:22,romfile=
}

# Writes the first packet of each message type per direction of pass $1 as fixtures. A client packet
# carrying option 175 is iPXE's, so the ovmf pass splits into ovmf-* and ipxe-efi-*; a reply belongs
# to the client whose transaction id it echoes.
extract() {
  tshark -r "$TMP/$1.pcap" -Y 'dhcp && ip.dst != 10.73.0.250' -T fields -E separator=/t -e dhcp.id -e udp.srcport -e dhcp.option.dhcp \
    -e dhcp.option.type -e udp.payload >"$TMP/$1.fields"
  # shellcheck disable=SC2016 # the ${...} are TypeScript's
  bun -e '
    const [pass, fields, out] = process.argv.slice(1);
    const names = ["", "discover", "offer", "request", "decline", "ack", "nak", "release", "inform"];
    const clientOf = new Map();
    const written = new Set();
    for (const line of (await Bun.file(fields).text()).split("\n").filter(Boolean)) {
      const [xid, srcPort, type, codes, hex] = line.split("\t");
      const fromClient = srcPort === "68";
      if (fromClient) clientOf.set(xid, codes.split(",").includes("175") && pass === "ovmf" ? "ipxe-efi" : pass);
      const client = clientOf.get(xid) ?? pass;
      const name = fromClient ? `${client}-${names[Number(type)]}` : `dnsmasq-${names[Number(type)]}-to-${client}`;
      if (written.has(name)) continue;
      written.add(name);
      await Bun.write(`${out}/${name}.bin`, Buffer.from(hex.replaceAll(":", ""), "hex"));
      console.log(`capture-dhcp: ${name}.bin`);
    }' "$1" "$TMP/$1.fields" "$OUT"
}

for pass in "${PASSES[@]}"; do
  echo "capture-dhcp: pass $pass"
  start_capture "$pass"
  "pass_$pass"
  stop_capture "$pass"
  extract "$pass"
done

cd "$ROOT" && describe_all
