// signify key and signature files (OpenBSD signify(1), Debian's signify-openbsd): read, write, sign, verify; ed25519 only.
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign as ed25519Sign, verify as ed25519Verify } from "node:crypto";

/*
 * Every file is two lines: "untrusted comment: <text>\n" then one base64 line and "\n". Decoded:
 *
 *   public key  (42 bytes)   +----+------------+---------------------+
 *                            | Ed | key number |   public key (32)   |
 *                            +----+------------+---------------------+
 *   signature   (74 bytes)   +----+------------+---------------------+
 *                            | Ed | key number |   signature (64)    |
 *                            +----+------------+---------------------+
 *   secret key (104 bytes)   +----+----+--------+-----------+--------------+------------+------------------------+
 *                            | Ed | BK | rounds | salt (16) | checksum (8) | key number | secret (64) = seed||pub |
 *                            +----+----+--------+-----------+--------------+------------+------------------------+
 *
 * The key number is 8 random bytes chosen at generation; a signature carries its signer's, so a verifier can pick the
 * key first. "rounds" is the big-endian bcrypt-pbkdf round count that encrypts the secret with a passphrase; 0 means
 * no passphrase and the secret is stored as is. The checksum is the first 8 bytes of SHA-512 over the plain secret.
 */
const Layout = {
  AlgorithmBytes: 2,
  KeyNumberBytes: 8,
  PublicKeyBytes: 2 + 8 + 32,
  SignatureBytes: 2 + 8 + 64,
  SecretKeyBytes: 2 + 2 + 4 + 16 + 8 + 8 + 64,
  SeedBytes: 32,
  SaltBytes: 16,
  ChecksumBytes: 8,
} as const;

/** Offsets inside the secret key (see the diagram above). */
const SecretOffset = { KdfAlgorithm: 2, Rounds: 4, Salt: 8, Checksum: 24, KeyNumber: 32, Secret: 40 } as const;

const PUBLIC_KEY_ALGORITHM = "Ed";
const KDF_ALGORITHM = "BK";
const COMMENT_HEADER = "untrusted comment: ";
/** signify refuses a comment of 1024 bytes or more (COMMENTMAXLEN), and an empty one. */
const COMMENT_MAX_BYTES = 1023;

/** DER wrappers that turn a raw 32-byte ed25519 seed or public key into a key node:crypto imports (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export type SignifyPublicKey = { keyId: string; publicKey: Uint8Array; comment: string };
export type SignifySecretKey = { keyId: string; seed: Uint8Array; publicKey: Uint8Array; comment: string };
export type SignifySignature = { keyId: string; signature: Uint8Array; comment: string };

/** Every reason reading or verifying can fail: a fixed set, so it is safe as a metric label. */
export type SignifyReason =
  | "not-signify"
  | "bad-base64"
  | "trailing-data"
  | "wrong-algorithm"
  | "wrong-length"
  | "encrypted-secret-key"
  | "checksum-mismatch"
  | "inconsistent-secret-key"
  | "key-mismatch"
  | "bad-signature";

export type SignifyResult<T> = { ok: true; value: T } | { ok: false; reason: SignifyReason };
export type SignifyVerifyResult = { ok: true } | { ok: false; reason: SignifyReason };

/** One line for an operator: what is wrong with the file and what to do next. */
export const SIGNIFY_REASON_TEXT: Record<SignifyReason, string> = {
  "not-signify": "not a signify file: the first line must start with 'untrusted comment: ' and the second hold base64",
  "bad-base64": "the second line is not valid base64",
  "trailing-data": "there is more after the base64 line (embedded messages from signify -e are not supported)",
  "wrong-algorithm": "not an ed25519 signify file (it must start with 'Ed', a secret key with 'EdBK')",
  "wrong-length": "the decoded bytes have the wrong length for this kind of file (is it a key where a signature belongs?)",
  "encrypted-secret-key":
    "the secret key is protected by a passphrase, which goosed does not take; generate one without with: goosed keys generate, or signify-openbsd -G -n",
  "checksum-mismatch": "the secret key does not match its checksum; the file is damaged",
  "inconsistent-secret-key": "the public half stored in the secret key does not belong to its seed; the file is damaged",
  "key-mismatch": "the signature was made by a different key than the one it was checked with",
  "bad-signature": "the signature does not match the message: it was changed after signing, or the signature is damaged",
};

const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const sha512Checksum = (secret: Uint8Array) => createHash("sha512").update(secret).digest().subarray(0, Layout.ChecksumBytes);

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function asciiAt(bytes: Uint8Array, offset: number, expected: string): boolean {
  for (let i = 0; i < expected.length; i++) if (bytes[offset + i] !== expected.charCodeAt(i)) return false;
  return true;
}

/** Splits the two lines and decodes the second; CRLF and a missing final newline are forgiven. */
function decodeFile(text: string): SignifyResult<{ comment: string; bytes: Uint8Array }> {
  if (typeof text !== "string") return { ok: false, reason: "not-signify" };
  const lines = text.split("\n").map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
  if (lines.at(-1) === "") lines.pop();
  const [commentLine, base64Line] = lines;
  if (commentLine === undefined || base64Line === undefined) return { ok: false, reason: "not-signify" };
  if (!commentLine.startsWith(COMMENT_HEADER)) return { ok: false, reason: "not-signify" };
  if (lines.length > 2) return { ok: false, reason: "trailing-data" };
  // Canonical base64 only, as signify's b64_pton: Buffer skips bad characters and stray bits, so re-encode and compare.
  const bytes = new Uint8Array(Buffer.from(base64Line, "base64"));
  if (bytes.length === 0 || Buffer.from(bytes).toString("base64") !== base64Line) return { ok: false, reason: "bad-base64" };
  if (bytes.length < Layout.AlgorithmBytes || !asciiAt(bytes, 0, PUBLIC_KEY_ALGORITHM)) {
    return { ok: false, reason: "wrong-algorithm" };
  }
  return { ok: true, value: { comment: commentLine.slice(COMMENT_HEADER.length), bytes } };
}

function encodeFile(comment: string, bytes: Uint8Array): string {
  return `${COMMENT_HEADER}${comment}\n${Buffer.from(bytes).toString("base64")}\n`;
}

/** Comments are ours to write, so a bad one is a programming error; signify could not read the file back. */
function checkComment(comment: string): string {
  if (comment === "" || /[\r\n]/.test(comment) || Buffer.byteLength(comment) > COMMENT_MAX_BYTES) {
    throw new RangeError(`signify comment must be one non-empty line under 1024 bytes: ${JSON.stringify(comment.slice(0, 80))}`);
  }
  return comment;
}

function privateKeyObject(seed: Uint8Array) {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
}

function publicKeyObject(publicKey: Uint8Array) {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: "der", type: "spki" });
}

function publicKeyOf(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: "der", type: "spki" });
  return new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
}

/**
 * Key files for a given seed and key number: deterministic, so tests can pin golden files. No passphrase (rounds 0,
 * which is what signify -G -n writes). The salt only matters to a passphrase, so it is zero unless given.
 */
export function keyPairFromSeed(input: {
  seed: Uint8Array;
  keyNumber: Uint8Array;
  comment?: string;
  salt?: Uint8Array;
}): { publicKeyFile: string; secretKeyFile: string; keyId: string } {
  const { seed, keyNumber, salt = new Uint8Array(Layout.SaltBytes) } = input;
  if (seed.length !== Layout.SeedBytes) throw new RangeError(`ed25519 seed must be ${Layout.SeedBytes} bytes`);
  if (keyNumber.length !== Layout.KeyNumberBytes) throw new RangeError(`key number must be ${Layout.KeyNumberBytes} bytes`);
  if (salt.length !== Layout.SaltBytes) throw new RangeError(`salt must be ${Layout.SaltBytes} bytes`);
  const keyId = toHex(keyNumber);
  const comment = checkComment(input.comment ?? `goosed key ${keyId}`);
  const publicKey = publicKeyOf(seed);
  const secret = Buffer.concat([seed, publicKey]);

  const publicBytes = Buffer.concat([Buffer.from(PUBLIC_KEY_ALGORITHM), keyNumber, publicKey]);
  const secretBytes = Buffer.alloc(Layout.SecretKeyBytes);
  secretBytes.write(PUBLIC_KEY_ALGORITHM + KDF_ALGORITHM, 0, "latin1");
  secretBytes.writeUInt32BE(0, SecretOffset.Rounds);
  secretBytes.set(salt, SecretOffset.Salt);
  secretBytes.set(sha512Checksum(secret), SecretOffset.Checksum);
  secretBytes.set(keyNumber, SecretOffset.KeyNumber);
  secretBytes.set(secret, SecretOffset.Secret);
  return {
    publicKeyFile: encodeFile(`${comment} public key`, publicBytes),
    secretKeyFile: encodeFile(`${comment} secret key`, secretBytes),
    keyId,
  };
}

/** A fresh ed25519 key pair with a random key number; the comment lines read "<comment> public key" / "secret key". */
export function generateKeyPair(comment?: string): { publicKeyFile: string; secretKeyFile: string; keyId: string } {
  return keyPairFromSeed({
    seed: randomBytes(Layout.SeedBytes),
    keyNumber: randomBytes(Layout.KeyNumberBytes),
    salt: randomBytes(Layout.SaltBytes),
    comment,
  });
}

export function readPublicKey(text: string): SignifyResult<SignifyPublicKey> {
  const file = decodeFile(text);
  if (!file.ok) return file;
  const { bytes, comment } = file.value;
  if (bytes.length !== Layout.PublicKeyBytes) return { ok: false, reason: "wrong-length" };
  const keyNumber = bytes.subarray(Layout.AlgorithmBytes, Layout.AlgorithmBytes + Layout.KeyNumberBytes);
  const publicKey = bytes.slice(Layout.AlgorithmBytes + Layout.KeyNumberBytes);
  return { ok: true, value: { keyId: toHex(keyNumber), publicKey, comment } };
}

export function readSecretKey(text: string): SignifyResult<SignifySecretKey> {
  const file = decodeFile(text);
  if (!file.ok) return file;
  const { bytes, comment } = file.value;
  if (bytes.length !== Layout.SecretKeyBytes) return { ok: false, reason: "wrong-length" };
  if (!asciiAt(bytes, SecretOffset.KdfAlgorithm, KDF_ALGORITHM)) return { ok: false, reason: "wrong-algorithm" };
  const rounds = new DataView(bytes.buffer, bytes.byteOffset).getUint32(SecretOffset.Rounds);
  if (rounds !== 0) return { ok: false, reason: "encrypted-secret-key" };
  const secret = bytes.subarray(SecretOffset.Secret);
  if (!bytesEqual(sha512Checksum(secret), bytes.subarray(SecretOffset.Checksum, SecretOffset.KeyNumber))) {
    return { ok: false, reason: "checksum-mismatch" };
  }
  const seed = secret.slice(0, Layout.SeedBytes);
  const publicKey = secret.slice(Layout.SeedBytes);
  // signify signs with the stored public half; ours derives it, so a file whose halves disagree would sign unverifiably.
  if (!bytesEqual(publicKeyOf(seed), publicKey)) return { ok: false, reason: "inconsistent-secret-key" };
  const keyId = toHex(bytes.subarray(SecretOffset.KeyNumber, SecretOffset.Secret));
  return { ok: true, value: { keyId, seed, publicKey, comment } };
}

export function readSignature(text: string): SignifyResult<SignifySignature> {
  const file = decodeFile(text);
  if (!file.ok) return file;
  const { bytes, comment } = file.value;
  if (bytes.length !== Layout.SignatureBytes) return { ok: false, reason: "wrong-length" };
  const keyNumber = bytes.subarray(Layout.AlgorithmBytes, Layout.AlgorithmBytes + Layout.KeyNumberBytes);
  const signature = bytes.slice(Layout.AlgorithmBytes + Layout.KeyNumberBytes);
  return { ok: true, value: { keyId: toHex(keyNumber), signature, comment } };
}

/** The signer's key id, so a verifier can look the trusted key up before verifying. */
export function signatureKeyId(signatureText: string): SignifyResult<string> {
  const signature = readSignature(signatureText);
  return signature.ok ? { ok: true, value: signature.value.keyId } : signature;
}

/** A signature file over the exact message bytes (what signify -S writes, minus its "verify with" comment). */
export function sign(secretKey: SignifySecretKey, message: Uint8Array, comment?: string): string {
  const signature = ed25519Sign(null, message, privateKeyObject(secretKey.seed));
  const keyNumber = Buffer.from(secretKey.keyId, "hex");
  const bytes = Buffer.concat([Buffer.from(PUBLIC_KEY_ALGORITHM), keyNumber, signature]);
  return encodeFile(checkComment(comment ?? `signature from goosed key ${secretKey.keyId}`), bytes);
}

export function verify(publicKey: SignifyPublicKey, message: Uint8Array, signatureText: string): SignifyVerifyResult {
  const signature = readSignature(signatureText);
  if (!signature.ok) return signature;
  if (signature.value.keyId !== publicKey.keyId) return { ok: false, reason: "key-mismatch" };
  const valid = ed25519Verify(null, message, publicKeyObject(publicKey.publicKey), signature.value.signature);
  return valid ? { ok: true } : { ok: false, reason: "bad-signature" };
}
