import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  generateKeyPair,
  keyPairFromSeed,
  readPublicKey,
  readSecretKey,
  readSignature,
  sign,
  signatureKeyId,
  verify,
  type SignifyPublicKey,
  type SignifyReason,
  type SignifySecretKey,
} from "../../src/bundles/signify.ts";
import { tempDir } from "../support/goosed.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { requireTool } from "../support/tools.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/signify");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
const bytesOf = (text: string) => new TextEncoder().encode(text);
const GOLDEN_MESSAGE = new Uint8Array(readFileSync(join(FIXTURES, "golden.msg")));

/** RFC 8032 section 7.1, TEST 2: the seed, its public key, and the signature over the one byte 0x72. */
const RFC8032_SEED = Buffer.from("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "hex");
const RFC8032_PUBLIC = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
const RFC8032_SIGNATURE =
  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
const GOLDEN_KEY_ID = "676f6f7365643031"; // "goosed01"

function ok<T>(result: { ok: true; value: T } | { ok: false; reason: SignifyReason }): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}`);
  return result.value;
}

/** Rewrites the base64 line of a signify file through `edit` on its decoded bytes. */
function editBytes(text: string, edit: (bytes: Uint8Array) => void): string {
  const [comment, base64] = text.split("\n");
  const bytes = new Uint8Array(Buffer.from(base64!, "base64"));
  edit(bytes);
  return `${comment}\n${Buffer.from(bytes).toString("base64")}\n`;
}

describe("golden vectors", () => {
  test("a fixed seed and key number give the committed key files, and its signature is RFC 8032's", () => {
    const pair = keyPairFromSeed({ seed: RFC8032_SEED, keyNumber: bytesOf("goosed01") });
    expect(pair).toEqual({ publicKeyFile: fixture("golden.pub"), secretKeyFile: fixture("golden.sec"), keyId: GOLDEN_KEY_ID });

    const publicKey = ok(readPublicKey(pair.publicKeyFile));
    expect(publicKey).toEqual({
      keyId: GOLDEN_KEY_ID,
      publicKey: new Uint8Array(Buffer.from(RFC8032_PUBLIC, "hex")),
      comment: `goosed key ${GOLDEN_KEY_ID} public key`,
    });
    const secretKey = ok(readSecretKey(pair.secretKeyFile));
    expect(secretKey).toEqual({
      keyId: GOLDEN_KEY_ID,
      seed: new Uint8Array(RFC8032_SEED),
      publicKey: publicKey.publicKey,
      comment: `goosed key ${GOLDEN_KEY_ID} secret key`,
    });

    const signatureFile = sign(secretKey, GOLDEN_MESSAGE);
    expect(signatureFile).toBe(fixture("golden.msg.sig"));
    expect(ok(readSignature(signatureFile))).toEqual({
      keyId: GOLDEN_KEY_ID,
      signature: new Uint8Array(Buffer.from(RFC8032_SIGNATURE, "hex")),
      comment: `signature from goosed key ${GOLDEN_KEY_ID}`,
    });
    expect(verify(publicKey, GOLDEN_MESSAGE, signatureFile)).toEqual({ ok: true });
    expect(signatureKeyId(signatureFile)).toEqual({ ok: true, value: GOLDEN_KEY_ID });
  });

  test("the secret key checksum is the first 8 bytes of SHA-512 over seed || public key", () => {
    const bytes = new Uint8Array(Buffer.from(fixture("golden.sec").split("\n")[1]!, "base64"));
    const secret = Buffer.concat([RFC8032_SEED, Buffer.from(RFC8032_PUBLIC, "hex")]);
    expect(Buffer.from(bytes.subarray(24, 32)).toString("hex")).toBe(
      createHash("sha512").update(secret).digest("hex").slice(0, 16),
    );
  });

  test("files made by signify-openbsd read, sign and verify the same as it does", () => {
    const publicKey = ok(readPublicKey(fixture("signify.pub")));
    const secretKey = ok(readSecretKey(fixture("signify.sec")));
    expect(secretKey.keyId).toBe(publicKey.keyId);
    expect(secretKey.publicKey).toEqual(publicKey.publicKey);
    expect(publicKey.comment).toBe("signify-openbsd fixture public key");
    expect(signatureKeyId(fixture("signify.msg.sig"))).toEqual({ ok: true, value: publicKey.keyId });
    expect(verify(publicKey, GOLDEN_MESSAGE, fixture("signify.msg.sig"))).toEqual({ ok: true });
    // ed25519 is deterministic: our signature line equals signify's; only the comment differs.
    expect(sign(secretKey, GOLDEN_MESSAGE, "verify with signify.pub")).toBe(fixture("signify.msg.sig"));
  });

  test("a passphrase-protected secret key made by signify-openbsd is refused", () => {
    expect(readSecretKey(fixture("passphrase.sec"))).toEqual({ ok: false, reason: "encrypted-secret-key" });
  });
});

describe("interop with signify-openbsd", () => {
  async function run(args: string[], cwd: string, stdin?: string) {
    const signify = requireTool("signify-openbsd");
    const proc = Bun.spawn([signify, ...args], {
      cwd,
      stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [exitCode, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    return { exitCode, output: stdout + stderr };
  }
  const file = (dir: string, name: string) => readFileSync(join(dir, name), "utf8");

  test("its keys are read by ours, ours signs with them, and signify-openbsd -V accepts", async () => {
    await using dir = tempDir();
    expect(await run(["-G", "-n", "-p", "x.pub", "-s", "x.sec"], dir.path)).toEqual({ exitCode: 0, output: "" });
    const publicKey = ok(readPublicKey(file(dir.path, "x.pub")));
    const secretKey = ok(readSecretKey(file(dir.path, "x.sec")));
    expect(secretKey.keyId).toBe(publicKey.keyId);

    const message = bytesOf('{"name":"debian-12","version":"2024.06.01"}\n');
    await Bun.write(join(dir.path, "msg"), message);
    await Bun.write(join(dir.path, "msg.sig"), sign(secretKey, message));
    expect(await run(["-V", "-p", "x.pub", "-m", "msg", "-x", "msg.sig"], dir.path)).toEqual({
      exitCode: 0,
      output: "Signature Verified\n",
    });

    // And the other way: what signify-openbsd -S writes, our verify accepts.
    expect(await run(["-S", "-s", "x.sec", "-m", "msg", "-x", "theirs.sig"], dir.path)).toEqual({ exitCode: 0, output: "" });
    const theirs = file(dir.path, "theirs.sig");
    expect(signatureKeyId(theirs)).toEqual({ ok: true, value: publicKey.keyId });
    expect(verify(publicKey, message, theirs)).toEqual({ ok: true });
  });

  test("keys made by ours are accepted by signify-openbsd -S and -V", async () => {
    await using dir = tempDir();
    const pair = generateKeyPair("interop test");
    await Bun.write(join(dir.path, "ours.pub"), pair.publicKeyFile);
    await Bun.write(join(dir.path, "ours.sec"), pair.secretKeyFile);
    const message = new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff));
    await Bun.write(join(dir.path, "msg"), message);

    expect(await run(["-S", "-s", "ours.sec", "-m", "msg"], dir.path)).toEqual({ exitCode: 0, output: "" });
    expect(await run(["-V", "-p", "ours.pub", "-m", "msg"], dir.path)).toEqual({ exitCode: 0, output: "Signature Verified\n" });
    const theirs = file(dir.path, "msg.sig");
    expect(signatureKeyId(theirs)).toEqual({ ok: true, value: pair.keyId });
    expect(verify(ok(readPublicKey(pair.publicKeyFile)), message, theirs)).toEqual({ ok: true });
  });

  test("signify-openbsd rejects what our verify rejects: a flipped message byte", async () => {
    await using dir = tempDir();
    const pair = generateKeyPair();
    const message = bytesOf("exact manifest bytes\n");
    await Bun.write(join(dir.path, "k.pub"), pair.publicKeyFile);
    await Bun.write(join(dir.path, "msg"), "exact manifest bytes!");
    await Bun.write(join(dir.path, "msg.sig"), sign(ok(readSecretKey(pair.secretKeyFile)), message));
    const result = await run(["-V", "-p", "k.pub", "-m", "msg"], dir.path);
    expect(result.exitCode).not.toBe(0);
    expect(result.output).toContain("signature verification failed");
  });

  test("a secret key signify-openbsd protects with a passphrase is refused with its reason", async () => {
    await using dir = tempDir();
    // Debian's signify reads the passphrase from stdin when stdin is not a terminal.
    expect(await run(["-G", "-p", "p.pub", "-s", "p.sec"], dir.path, "secret\nsecret\n")).toEqual({ exitCode: 0, output: "" });
    expect(readSecretKey(file(dir.path, "p.sec"))).toEqual({ ok: false, reason: "encrypted-secret-key" });
    expect(ok(readPublicKey(file(dir.path, "p.pub"))).publicKey.length).toBe(32);
  });
});

describe("each failure gets its reason", () => {
  const pair = keyPairFromSeed({ seed: RFC8032_SEED, keyNumber: bytesOf("goosed01") });
  const publicKey: SignifyPublicKey = ok(readPublicKey(pair.publicKeyFile));
  const secretKey: SignifySecretKey = ok(readSecretKey(pair.secretKeyFile));
  const message = bytesOf("the exact manifest bytes");
  const signature = sign(secretKey, message);

  test("a flipped byte in the message", () => {
    for (let i = 0; i < message.length; i++) {
      const changed = Uint8Array.from(message);
      changed[i]! ^= 0x01;
      expect(verify(publicKey, changed, signature)).toEqual({ ok: false, reason: "bad-signature" });
    }
  });

  test("a flipped byte anywhere in the 64 signature bytes", () => {
    for (let i = 10; i < 74; i++) {
      const changed = editBytes(signature, (bytes) => void (bytes[i]! ^= 0x80));
      expect(verify(publicKey, message, changed)).toEqual({ ok: false, reason: "bad-signature" });
    }
  });

  test("a signature from another key: key-mismatch, and bad-signature when it claims our key number", () => {
    const other = generateKeyPair();
    const foreign = sign(ok(readSecretKey(other.secretKeyFile)), message);
    expect(verify(publicKey, message, foreign)).toEqual({ ok: false, reason: "key-mismatch" });
    const spoofed = editBytes(foreign, (bytes) => bytes.set(bytesOf("goosed01"), 2));
    expect(signatureKeyId(spoofed)).toEqual({ ok: true, value: GOLDEN_KEY_ID });
    expect(verify(publicKey, message, spoofed)).toEqual({ ok: false, reason: "bad-signature" });
  });

  test("a passphrase-protected secret key (kdf rounds > 0)", () => {
    const encrypted = editBytes(pair.secretKeyFile, (bytes) => bytes.set([0, 0, 0, 42], 4));
    expect(readSecretKey(encrypted)).toEqual({ ok: false, reason: "encrypted-secret-key" });
  });

  test("a damaged secret key: checksum-mismatch; halves that disagree under a good checksum: inconsistent-secret-key", () => {
    expect(readSecretKey(editBytes(pair.secretKeyFile, (bytes) => void (bytes[50]! ^= 1)))).toEqual({
      ok: false,
      reason: "checksum-mismatch",
    });
    const inconsistent = editBytes(pair.secretKeyFile, (bytes) => {
      bytes[103]! ^= 1;
      bytes.set(createHash("sha512").update(bytes.subarray(40)).digest().subarray(0, 8), 24);
    });
    expect(readSecretKey(inconsistent)).toEqual({ ok: false, reason: "inconsistent-secret-key" });
  });

  const base64 = (bytes: number[] | Uint8Array) => Buffer.from(bytes).toString("base64");
  const pubLine = pair.publicKeyFile.split("\n")[1]!;
  const sigLine = signature.split("\n")[1]!;
  const secLine = pair.secretKeyFile.split("\n")[1]!;
  /** 74 bytes end in 3 characters and "=": the last character's 2 low bits are padding, which must be zero. */
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const strayBits = (line: string) => line.slice(0, -2) + ALPHABET[ALPHABET.indexOf(line.at(-2)!) ^ 1] + "=";
  const MALFORMED: Array<[string, "public" | "secret" | "signature", SignifyReason, unknown]> = [
    ["empty text", "public", "not-signify", ""],
    ["not a string", "public", "not-signify", 42],
    ["base64 line only", "public", "not-signify", `${pubLine}\n`],
    ["comment line only", "public", "not-signify", "untrusted comment: x\n"],
    ["comment without the header", "public", "not-signify", `trusted comment: x\n${pubLine}\n`],
    ["an OpenSSH public key", "public", "not-signify", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE goosed\n"],
    ["a message embedded after the signature (signify -e)", "signature", "trailing-data", `${signature}hello\n`],
    ["empty base64 line", "public", "bad-base64", "untrusted comment: x\n\n"],
    ["base64 with a bad character", "public", "bad-base64", `untrusted comment: x\n${pubLine.slice(0, -1)}*\n`],
    ["base64 missing its padding", "signature", "bad-base64", `untrusted comment: x\n${sigLine.replace(/=+$/, "")}\n`],
    ["base64 with a space inside", "public", "bad-base64", `untrusted comment: x\n${pubLine.slice(0, 8)} ${pubLine.slice(8)}\n`],
    ["base64 with stray bits in its last character", "signature", "bad-base64", `untrusted comment: x\n${strayBits(sigLine)}\n`],
    ["algorithm is not Ed", "public", "wrong-algorithm", `untrusted comment: x\n${base64([0x45, 0x65, ...new Array(40).fill(0)])}\n`],
    ["a single byte", "signature", "wrong-algorithm", `untrusted comment: x\n${base64([0x45])}\n`],
    ["secret key kdf is not BK", "secret", "wrong-algorithm", editBytes(pair.secretKeyFile, (b) => b.set([0x58, 0x58], 2))],
    ["public key one byte short", "public", "wrong-length", `untrusted comment: x\n${base64(Buffer.from(pubLine, "base64").subarray(0, 41))}\n`],
    ["a signature where a public key belongs", "public", "wrong-length", signature],
    ["a public key where a signature belongs", "signature", "wrong-length", pair.publicKeyFile],
    ["a public key where a secret key belongs", "secret", "wrong-length", pair.publicKeyFile],
    ["secret key one byte too long", "secret", "wrong-length", `untrusted comment: x\n${base64([...Buffer.from(secLine, "base64"), 0])}\n`],
  ];

  test.each(MALFORMED)("malformed: %s (%s) gives %s", (_name, kind, reason, text) => {
    const read = { public: readPublicKey, secret: readSecretKey, signature: readSignature }[kind];
    expect(read(text as string)).toEqual({ ok: false, reason });
    if (kind === "signature") {
      expect(verify(publicKey, message, text as string)).toEqual({ ok: false, reason });
      expect(signatureKeyId(text as string)).toEqual({ ok: false, reason });
    }
  });

  test("CRLF line ends and a missing final newline are forgiven", () => {
    expect(verify(publicKey, message, signature.replaceAll("\n", "\r\n"))).toEqual({ ok: true });
    expect(ok(readPublicKey(pair.publicKeyFile.trimEnd()))).toEqual(publicKey);
  });

  test("a comment that signify could not read back is refused when writing", () => {
    expect(() => sign(secretKey, message, "two\nlines")).toThrow(RangeError);
    expect(() => generateKeyPair("x".repeat(1024))).toThrow(RangeError);
  });

  test("mutated files read or give a typed reason, never throw (seed printed; replay with SIGNIFY_FUZZ_SEED)", () => {
    const seed = Number(process.env.SIGNIFY_FUZZ_SEED ?? Date.now() % 2 ** 31);
    console.log(`signify fuzz seed ${seed}`);
    const next = seededRandom(seed);
    const pick = (n: number) => Math.floor(next() * n);
    const inputs = [pair.publicKeyFile, pair.secretKeyFile, signature, fixture("signify.sec"), fixture("passphrase.sec")];
    for (let i = 0; i < 5_000; i++) {
      const original = inputs[pick(inputs.length)]!;
      let text = original;
      for (let m = 1 + pick(3); m > 0; m--) {
        const at = pick(text.length + 1);
        const char = String.fromCharCode(next() < 0.3 ? 10 : 32 + pick(95));
        if (next() < 0.5) text = text.slice(0, at) + char + text.slice(at + 1);
        else text = text.slice(0, at) + text.slice(at + 1);
      }
      for (const read of [readPublicKey, readSecretKey, readSignature, signatureKeyId]) {
        const result = read(text);
        expect(typeof result.ok).toBe("boolean");
      }
      const verified = verify(publicKey, message, text);
      // Only a change to the comment line may still verify.
      if (verified.ok) expect(text.split("\n")[1]).toBe(sigLine);
    }
  });
});
