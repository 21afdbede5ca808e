// Chooses the provisioning interface when goosed.iface is auto: the first wired Ethernet link with a cable in.

/** One entry of /sys/class/net as configure sees it. */
export interface LinkInfo {
  name: string;
  /** /sys/class/net/X/carrier: true for 1; false for 0 or unreadable (the kernel refuses to read it on a down link). */
  carrier: boolean;
  /** /sys/class/net/X/type, an ARPHRD_* number; null when unreadable. */
  type: number | null;
}

/** ARPHRD_ETHER from linux/if_arp.h; loopback is ARPHRD_LOOPBACK (772). */
export const ARPHRD_ETHER = 1;

export type InterfaceChoice =
  | { kind: "carrier"; name: string }
  | { kind: "no-carrier"; name: string }
  | { kind: "none" };

const ethernet = (links: readonly LinkInfo[]) =>
  links.filter((l) => l.name !== "lo" && l.type === ARPHRD_ETHER).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/**
 * The first Ethernet interface by name whose carrier is up. `final` is the last poll before the wait runs out: then
 * an Ethernet interface without carrier is better than none (the cable may come later), so it is returned as such.
 */
export function chooseInterface(links: readonly LinkInfo[], final: boolean): InterfaceChoice | null {
  const candidates = ethernet(links);
  const up = candidates.find((l) => l.carrier);
  if (up) return { kind: "carrier", name: up.name };
  if (!final) return null;
  return candidates[0] ? { kind: "no-carrier", name: candidates[0].name } : { kind: "none" };
}
