// MAC addresses: every spelling operators and firmware use, stored in one canonical form.

// aa:bb:cc:dd:ee:ff / AA-BB-CC-DD-EE-FF (Windows, DHCP logs) / aabb.ccdd.eeff (Cisco) / aabbccddeeff (iPXE ${mac:hexraw}).
const SEPARATED = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;
const DOTTED = /^([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})$/i;
const BARE = /^[0-9a-f]{12}$/i;

// What iPXE's ${mac} sends: already canonical, so the boot storm's hot path needs one cheap test.
const CANONICAL = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** The canonical form (lowercase, colon-separated), or null when `raw` is not a MAC in any accepted spelling. */
export function parseMac(raw: string): string | null {
  if (CANONICAL.test(raw)) return raw;
  const text = raw.trim();
  let hex: string;
  const separated = SEPARATED.exec(text);
  const dotted = DOTTED.exec(text);
  if (separated) hex = [1, 3, 4, 5, 6, 7].map((i) => separated[i]).join("");
  else if (dotted) hex = dotted.slice(1).join("");
  else if (BARE.test(text)) hex = text;
  else return null;
  return hex.toLowerCase().match(/../g)!.join(":");
}

export const MAC_SPELLINGS = "aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or aabbccddeeff";
