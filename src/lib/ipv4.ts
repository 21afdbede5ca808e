// IPv4 addresses in dotted-quad form.

const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The address as written when it is a valid dotted quad without leading zeros, else null. */
export const parseIpv4 = (raw: string): string | null => (QUAD.test(raw.trim()) ? raw.trim() : null);
