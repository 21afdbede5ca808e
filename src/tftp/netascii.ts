// netascii transfer mode (RFC 1350 section 2, after RFC 764): the file as the wire sees it in that mode.

const CR = 0x0d;
const LF = 0x0a;

/**
 * Every LF becomes CR LF and every bare CR becomes CR NUL, so the receiver can turn the text back into its own line
 * ends. Computed once per transfer; boot firmware always asks for octet, so this path serves people at a prompt.
 */
export function toNetascii(bytes: Uint8Array): Uint8Array {
  let extra = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === LF || bytes[i] === CR) extra++;
  if (extra === 0) return bytes;
  const out = new Uint8Array(bytes.length + extra);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === LF) {
      out[o++] = CR;
      out[o++] = LF;
    } else if (byte === CR) {
      out[o++] = CR;
      out[o++] = 0;
    } else {
      out[o++] = byte;
    }
  }
  return out;
}
