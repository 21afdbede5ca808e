// S3 request bodies from XML: CompleteMultipartUpload, Delete and CreateBucketConfiguration, through a small strict reader.
import { S3_NAMESPACE } from "./s3-xml-write.ts";

/** Well-formedness failures (XML 1.0 fifth edition) and what the reader refuses by design. */
export type XmlReason =
  | "empty"
  | "too-large"
  | "bad-utf8"
  | "unsupported-encoding"
  | "bad-declaration"
  | "doctype-refused"
  | "processing-instruction"
  | "bad-markup"
  | "bad-comment"
  | "illegal-char"
  | "bad-name"
  | "bad-attribute"
  | "duplicate-attribute"
  | "bad-reference"
  | "unknown-entity"
  | "bad-char-ref"
  | "mismatched-tag"
  | "unexpected-eof"
  | "text-outside-root"
  | "content-after-root"
  | "too-deep"
  | "too-many-elements";

/** A well-formed document that is not the shape S3 documents for the request. */
export type ShapeReason =
  | "wrong-root"
  | "wrong-namespace"
  | "unexpected-element"
  | "unexpected-attribute"
  | "unexpected-text"
  | "missing-element"
  | "duplicate-element"
  | "bad-part-number"
  | "bad-boolean"
  | "no-parts"
  | "too-many-parts"
  | "no-objects"
  | "too-many-objects";

/** Every reason is S3's MalformedXML but "empty" (MissingRequestBodyError) and "too-large" (MaxMessageLengthExceeded). */
export type S3XmlReason = XmlReason | ShapeReason;
/** offset counts characters of the decoded text after line-end normalisation. */
export type S3XmlResult<T> = { ok: true; value: T } | { ok: false; reason: S3XmlReason; offset: number };

/**
 * The largest body read: a Delete of 1,000 keys (S3's limit) of 1,024 UTF-8 bytes each, every byte written as a
 * five-character reference ("&#38;"), is about 5.2 MB; 10,000 parts with checksums are about 3 MB.
 */
export const MAX_XML_BYTES = 8 * 1024 * 1024;
/** The shapes nest three deep; anything much deeper is not one of them. */
const MAX_DEPTH = 8;
/** 10,000 parts of up to seven elements each (Part, PartNumber, ETag and four checksums), and the root. */
const MAX_ELEMENTS = 70_001;
/** S3 limits: parts per upload (Amazon S3 multipart upload limits) and keys per DeleteObjects request. */
const MAX_PARTS = 10_000;
const MAX_DELETE_OBJECTS = 1_000;

interface XmlElement {
  name: string;
  attributes: Map<string, string>;
  children: XmlElement[];
  /** Character data directly inside, references resolved. */
  text: string;
  offset: number;
}

type Failure = { ok: false; reason: S3XmlReason; offset: number };
const fail = (reason: S3XmlReason, offset: number): Failure => ({ ok: false, reason, offset });

/** XML 1.0 §2.2 Char, less what fatal UTF-8 decoding already rules out (surrogates). */
const ILLEGAL_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
/** ASCII subset of §2.3 Name: the S3 shapes use no other; a name outside it cannot match one. */
const NAME = /[A-Za-z_:][A-Za-z0-9_.:-]*/y;
const SPACE = /[ \t\n]*/y;
/** §2.8 production [23], whose version must be 1.x (§4.3.4 lets a 1.0 processor read other 1.x as 1.0). */
const DECLARATION = /<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(["'])1\.[0-9]+\1(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\2)?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(["'])(?:yes|no)\4)?[ \t\n]*\?>/y;
/** §3.1 production [41] Eq AttValue, with the "<" that §3.1 forbids in a value refused by the character classes. */
const ATTRIBUTE_VALUE = /[ \t\n]*=[ \t\n]*(?:"([^<"]*)"|'([^<']*)')/y;
const PREDEFINED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const REFERENCE = /&(?:#([0-9]+)|#x([0-9A-Fa-f]+)|([A-Za-z_:][A-Za-z0-9_.:-]*));/y;

function matchAt(pattern: RegExp, text: string, at: number): RegExpExecArray | null {
  pattern.lastIndex = at;
  return pattern.exec(text);
}

/** §4.1 and §4.6: the five predefined entities and character references to legal characters, nothing else. */
function resolveReferences(raw: string, at: number): { ok: true; value: string } | Failure {
  let out = "";
  for (let i = 0; i < raw.length; ) {
    const amp = raw.indexOf("&", i);
    if (amp < 0) return { ok: true, value: out + raw.slice(i) };
    out += raw.slice(i, amp);
    const ref = matchAt(REFERENCE, raw, amp);
    if (!ref) return fail("bad-reference", at + amp);
    if (ref[3] !== undefined) {
      const entity = PREDEFINED[ref[3]];
      if (entity === undefined) return fail("unknown-entity", at + amp);
      out += entity;
    } else {
      const code = ref[1] !== undefined ? Number.parseInt(ref[1], 10) : Number.parseInt(ref[2]!, 16);
      if (!(code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff) || ILLEGAL_CHAR.test(String.fromCodePoint(code))) return fail("bad-char-ref", at + amp);
      out += String.fromCodePoint(code);
    }
    i = amp + ref[0].length;
  }
  return { ok: true, value: out };
}

/** §2.5: a comment may not hold "--" nor end in "-". Returns where it ends. */
function skipComment(text: string, at: number): { ok: true; at: number } | Failure {
  const end = text.indexOf("-->", at + 4);
  if (end < 0) return fail("unexpected-eof", at);
  const content = text.slice(at + 4, end);
  if (content.includes("--") || content.endsWith("-")) return fail("bad-comment", at);
  return { ok: true, at: end + 3 };
}

/** Skips whitespace and comments before and after the root, refusing a DTD or processing instruction there. */
function skipMisc(text: string, at: number): { ok: true; at: number } | Failure {
  for (;;) {
    at += matchAt(SPACE, text, at)![0].length;
    if (text.startsWith("<!--", at)) {
      const comment = skipComment(text, at);
      if (!comment.ok) return comment;
      at = comment.at;
    } else if (text.startsWith("<!DOCTYPE", at)) return fail("doctype-refused", at);
    else if (text.startsWith("<?", at)) return fail("processing-instruction", at);
    else return { ok: true, at };
  }
}

/** Parses one document into elements. Never throws: a body is a tree or a reason and where it went wrong. */
function parseXml(body: Uint8Array): { ok: true; value: XmlElement } | Failure {
  if (body.length === 0) return fail("empty", 0);
  if (body.length > MAX_XML_BYTES) return fail("too-large", 0);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    return fail("bad-utf8", 0);
  }
  text = text.replace(/\r\n?/g, "\n"); // §2.11 end-of-line handling, before anything reads the text
  const illegal = ILLEGAL_CHAR.exec(text);
  if (illegal) return fail("illegal-char", illegal.index);

  let at = 0;
  if (text.startsWith("<?xml", at) && /[ \t\n]/.test(text[at + 5] ?? "")) {
    const declaration = matchAt(DECLARATION, text, at);
    if (!declaration) return fail("bad-declaration", at);
    if (declaration[3] !== undefined && !/^utf-?8$/i.test(declaration[3])) return fail("unsupported-encoding", at);
    at += declaration[0].length;
  }
  const before = skipMisc(text, at);
  if (!before.ok) return before;
  at = before.at;
  if (at >= text.length) return fail("empty", at);
  if (text[at] !== "<" || text.startsWith("<![CDATA[", at)) return fail("text-outside-root", at);
  // From here until the root closes every markup but a start tag has an open element around it.
  if (text.startsWith("</", at)) return fail("mismatched-tag", at);
  if (text.startsWith("<!", at)) return fail("bad-markup", at);

  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  while (root === undefined || stack.length > 0) {
    if (at >= text.length) return fail("unexpected-eof", at);
    const top = stack[stack.length - 1];
    if (text[at] !== "<") {
      const end = text.indexOf("<", at);
      const raw = text.slice(at, end < 0 ? text.length : end);
      const resolved = resolveReferences(raw, at);
      if (!resolved.ok) return resolved;
      top!.text += resolved.value;
      at += raw.length;
    } else if (text.startsWith("<!--", at)) {
      const comment = skipComment(text, at);
      if (!comment.ok) return comment;
      at = comment.at;
    } else if (text.startsWith("<![CDATA[", at)) {
      const end = text.indexOf("]]>", at + 9);
      if (end < 0) return fail("unexpected-eof", at);
      top!.text += text.slice(at + 9, end);
      at = end + 3;
    } else if (text.startsWith("<!DOCTYPE", at)) return fail("doctype-refused", at);
    else if (text.startsWith("<!", at)) return fail("bad-markup", at);
    else if (text.startsWith("<?", at)) return fail("processing-instruction", at);
    else if (text.startsWith("</", at)) {
      const name = matchAt(NAME, text, at + 2);
      if (!name) return fail("bad-name", at + 2);
      if (name[0] !== top!.name) return fail("mismatched-tag", at);
      const close = name.index + name[0].length + matchAt(SPACE, text, name.index + name[0].length)![0].length;
      if (close >= text.length) return fail("unexpected-eof", close);
      if (text[close] !== ">") return fail("bad-markup", close);
      stack.pop();
      at = close + 1;
    } else {
      const start = at;
      const name = matchAt(NAME, text, at + 1);
      if (!name) return fail("bad-name", at + 1);
      const element: XmlElement = { name: name[0], attributes: new Map(), children: [], text: "", offset: start };
      if (++elements > MAX_ELEMENTS) return fail("too-many-elements", start);
      if (stack.length >= MAX_DEPTH) return fail("too-deep", start);
      at = name.index + name[0].length;
      for (;;) {
        const space = matchAt(SPACE, text, at)![0].length;
        at += space;
        if (at >= text.length) return fail("unexpected-eof", at);
        if (text.startsWith("/>", at) || text[at] === ">") break;
        if (space === 0) return fail("bad-attribute", at);
        const attribute = matchAt(NAME, text, at);
        if (!attribute) return fail("bad-name", at);
        const value = matchAt(ATTRIBUTE_VALUE, text, at + attribute[0].length);
        if (!value) return fail("bad-attribute", at);
        if (element.attributes.has(attribute[0])) return fail("duplicate-attribute", at);
        const raw = value[1] ?? value[2]!;
        const resolved = resolveReferences(raw.replace(/[\t\n]/g, " "), value.index + value[0].length - 1 - raw.length); // §3.3.3 normalisation
        if (!resolved.ok) return resolved;
        element.attributes.set(attribute[0], resolved.value);
        at = value.index + value[0].length;
      }
      if (top) top.children.push(element);
      else root = element;
      if (text[at] === ">") {
        stack.push(element);
        at += 1;
      } else at += 2;
    }
  }
  const after = skipMisc(text, at);
  if (!after.ok) return after;
  if (after.at < text.length) return fail("content-after-root", after.at);
  return { ok: true, value: root };
}

/** Only namespace declarations, and only S3's namespace as the default one (or none). */
function checkAttributes(element: XmlElement): Failure | null {
  for (const [attribute, value] of element.attributes) {
    if (attribute === "xmlns") {
      if (value !== S3_NAMESPACE) return fail("wrong-namespace", element.offset);
    } else if (!attribute.startsWith("xmlns:")) return fail("unexpected-attribute", element.offset);
  }
  return null;
}

/** Checks a container element's name and attributes and that it holds only elements named in `allowed`; returns them by name. */
function childrenOf(element: XmlElement, name: string, allowed: readonly string[]): { ok: true; value: Map<string, XmlElement[]> } | Failure {
  if (element.name !== name) return fail(element.name.includes(":") ? "wrong-namespace" : "wrong-root", element.offset);
  const attributes = checkAttributes(element);
  if (attributes) return attributes;
  if (element.text.trim() !== "") return fail("unexpected-text", element.offset);
  const byName = new Map<string, XmlElement[]>();
  for (const child of element.children) {
    if (!allowed.includes(child.name)) return fail("unexpected-element", child.offset);
    const named = byName.get(child.name);
    if (named) named.push(child);
    else byName.set(child.name, [child]);
  }
  return { ok: true, value: byName };
}

/** The text of a leaf element that appears at most once; undefined when absent. */
function leafText(children: Map<string, XmlElement[]>, name: string): { ok: true; value: string | undefined } | Failure {
  const found = children.get(name) ?? [];
  if (found.length > 1) return fail("duplicate-element", found[1]!.offset);
  const leaf = found[0];
  if (!leaf) return { ok: true, value: undefined };
  const attributes = checkAttributes(leaf);
  if (attributes) return attributes;
  return leaf.children.length > 0 ? fail("unexpected-element", leaf.children[0]!.offset) : { ok: true, value: leaf.text };
}

function requiredText(children: Map<string, XmlElement[]>, name: string, parent: XmlElement): { ok: true; value: string } | Failure {
  const text = leafText(children, name);
  if (!text.ok) return text;
  return text.value === undefined ? fail("missing-element", parent.offset) : { ok: true, value: text.value };
}

/** Part checksums S3 accepts beside PartNumber and ETag (CompletedPart in the API reference). */
export const PART_CHECKSUMS = ["ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1", "ChecksumSHA256"] as const;
export type PartChecksum = (typeof PART_CHECKSUMS)[number];

export interface CompletedPart {
  partNumber: number;
  /** Without the quotes clients send around it (or leave off). */
  etag: string;
  checksums: Partial<Record<PartChecksum, string>>;
}

/**
 * <CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
 *   <Part><PartNumber>1</PartNumber><ETag>"…"</ETag></Part> …
 * </CompleteMultipartUpload>
 * Parts come back in document order: whether they ascend is InvalidPartOrder, the caller's to decide.
 */
export function readCompleteMultipartUpload(body: Uint8Array): S3XmlResult<{ parts: CompletedPart[] }> {
  const document = parseXml(body);
  if (!document.ok) return document;
  const top = childrenOf(document.value, "CompleteMultipartUpload", ["Part"]);
  if (!top.ok) return top;
  const elements = top.value.get("Part") ?? [];
  if (elements.length === 0) return fail("no-parts", document.value.offset);
  if (elements.length > MAX_PARTS) return fail("too-many-parts", elements[MAX_PARTS]!.offset);
  const parts: CompletedPart[] = [];
  for (const element of elements) {
    const children = childrenOf(element, "Part", ["PartNumber", "ETag", ...PART_CHECKSUMS]);
    if (!children.ok) return children;
    const number = requiredText(children.value, "PartNumber", element);
    if (!number.ok) return number;
    const etag = requiredText(children.value, "ETag", element);
    if (!etag.ok) return etag;
    const digits = number.value.trim();
    if (!/^[0-9]{1,5}$/.test(digits) || Number(digits) < 1 || Number(digits) > MAX_PARTS) return fail("bad-part-number", children.value.get("PartNumber")![0]!.offset);
    const checksums: Partial<Record<PartChecksum, string>> = {};
    for (const name of PART_CHECKSUMS) {
      const value = leafText(children.value, name);
      if (!value.ok) return value;
      if (value.value !== undefined) checksums[name] = value.value.trim();
    }
    parts.push({ partNumber: Number(digits), etag: etag.value.trim().replace(/^"(.*)"$/, "$1"), checksums });
  }
  return { ok: true, value: { parts } };
}

/** XML Schema 1.1 Part 2 §3.3.2.1: the lexical space of xs:boolean. */
const BOOLEAN: Record<string, boolean> = { true: true, "1": true, false: false, "0": false };

/**
 * <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
 *   <Object><Key>…</Key><VersionId>…</VersionId></Object> …
 *   <Quiet>true</Quiet>
 * </Delete>
 * Keys keep every character, whitespace included: they are names, not markup.
 */
export function readDelete(body: Uint8Array): S3XmlResult<{ quiet: boolean; objects: { key: string; versionId?: string }[] }> {
  const document = parseXml(body);
  if (!document.ok) return document;
  const top = childrenOf(document.value, "Delete", ["Object", "Quiet"]);
  if (!top.ok) return top;
  const quietText = leafText(top.value, "Quiet");
  if (!quietText.ok) return quietText;
  const quiet = quietText.value === undefined ? false : BOOLEAN[quietText.value.trim()];
  if (quiet === undefined) return fail("bad-boolean", top.value.get("Quiet")![0]!.offset);
  const elements = top.value.get("Object") ?? [];
  if (elements.length === 0) return fail("no-objects", document.value.offset);
  if (elements.length > MAX_DELETE_OBJECTS) return fail("too-many-objects", elements[MAX_DELETE_OBJECTS]!.offset);
  const objects: { key: string; versionId?: string }[] = [];
  for (const element of elements) {
    const children = childrenOf(element, "Object", ["Key", "VersionId"]);
    if (!children.ok) return children;
    const key = requiredText(children.value, "Key", element);
    if (!key.ok) return key;
    const versionId = leafText(children.value, "VersionId");
    if (!versionId.ok) return versionId;
    objects.push(versionId.value === undefined ? { key: key.value } : { key: key.value, versionId: versionId.value });
  }
  return { ok: true, value: { quiet, objects } };
}

/**
 * <CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
 *   <LocationConstraint>eu-west-1</LocationConstraint>
 * </CreateBucketConfiguration>
 * An empty body (us-east-1) is the caller's case: this reader reports it as "empty".
 */
export function readCreateBucketConfiguration(body: Uint8Array): S3XmlResult<{ locationConstraint?: string }> {
  const document = parseXml(body);
  if (!document.ok) return document;
  const top = childrenOf(document.value, "CreateBucketConfiguration", ["LocationConstraint"]);
  if (!top.ok) return top;
  const location = leafText(top.value, "LocationConstraint");
  if (!location.ok) return location;
  return { ok: true, value: location.value === undefined ? {} : { locationConstraint: location.value.trim() } };
}
