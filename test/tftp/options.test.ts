import { expect, test } from "bun:test";
import { negotiateOptions } from "../../src/tftp/options.ts";

const LIMITS = { defaultTimeoutMs: 1000, windowBudgetBytes: 1 << 20 };
const opts = (...pairs: Array<[string, string]>) => pairs.map(([name, value]) => ({ name, value }));

test.each([
  ["no options: 512-byte lock-step, no OACK", [], { blksize: 512, windowsize: 1, timeoutMs: 1000, oack: null }],
  [
    "atftp's request: every option answered in its order and case",
    opts(["tsize", "0"], ["timeout", "2"], ["BLKSIZE", "1468"], ["windowsize", "16"]),
    { blksize: 1468, windowsize: 16, timeoutMs: 2000, oack: opts(["tsize", "3000"], ["timeout", "2"], ["BLKSIZE", "1468"], ["windowsize", "16"]) },
  ],
  ["blksize above 65464 is answered with 65464 (RFC 2348)", opts(["blksize", "70000"]), { blksize: 65464, windowsize: 1, timeoutMs: 1000, oack: opts(["blksize", "65464"]) }],
  ["blksize below 8 is left out", opts(["blksize", "7"]), { blksize: 512, windowsize: 1, timeoutMs: 1000, oack: null }],
  ["timeout 0 and 256 are left out (RFC 2349: 1-255)", opts(["timeout", "0"]), { blksize: 512, windowsize: 1, timeoutMs: 1000, oack: null }],
  ["timeout 256 is left out", opts(["timeout", "256"]), { blksize: 512, windowsize: 1, timeoutMs: 1000, oack: null }],
  ["non-decimal values are left out", opts(["blksize", "0x400"], ["tsize", "-1"]), { blksize: 512, windowsize: 1, timeoutMs: 1000, oack: null }],
  ["unknown options are left out", opts(["multicast", ""], ["rollover", "0"]), { blksize: 512, windowsize: 1, timeoutMs: 1000, oack: null }],
  [
    "windowsize shrinks to the per-transfer buffer budget, whichever order blksize comes in",
    opts(["windowsize", "65535"], ["blksize", "65464"]),
    { blksize: 65464, windowsize: 16, timeoutMs: 1000, oack: opts(["windowsize", "16"], ["blksize", "65464"]) },
  ],
  ["windowsize 0 is left out", opts(["windowsize", "0"]), { blksize: 512, windowsize: 1, timeoutMs: 1000, oack: null }],
])("%s", (_name, requested, expected) => {
  expect(negotiateOptions(requested, 3000, LIMITS)).toEqual(expected);
});
