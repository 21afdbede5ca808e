// The object store's metadata in SQLite: buckets, objects, multipart uploads and their parts, artifacts and S3 access
// keys. Content lives in a BlobBackend; every row here names its content by sha256, so a row that exists always
// points at a whole blob (the blob is durable before the row commits) and collection keeps whatever a row names.
import { randomBytes } from "node:crypto";
import type { Store } from "../db/index.ts";
import { ARTIFACT_KINDS, type ArtifactKind } from "../db/index.ts";
import { recordAudit } from "../core/audit.ts";
import type { Actor } from "../core/actor.ts";
import type { EventBus } from "../core/events.ts";
import { AppError, conflict, invalid, notFound } from "../lib/errors.ts";
import { S3Error } from "./s3-errors.ts";

export interface ObjectRow {
  bucket: string;
  key: string;
  digest: string;
  sizeBytes: number;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
  lastModified: number;
}

export interface UploadRow {
  uploadId: string;
  bucket: string;
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  createdAt: number;
}

export interface PartRow {
  partNumber: number;
  digest: string;
  sizeBytes: number;
  etag: string;
  lastModified: number;
}

export interface ArtifactRecord {
  name: string;
  kind: ArtifactKind;
  digest: string;
  sizeBytes: number;
  contentType: string;
  source: string;
  createdAt: number;
  updatedAt: number;
}

export interface S3KeyRecord {
  accessKeyId: string;
  name: string;
  createdBy: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface ListObjectsQuery {
  bucket: string;
  prefix: string;
  delimiter: string;
  /** Keys (and common prefixes) after this one; from a continuation token or StartAfter. */
  after: string;
  maxKeys: number;
}

export interface ListObjectsPage {
  contents: ObjectRow[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned, to resume after when truncated. */
  last: string | null;
}

/** S3's rules for bucket names (bucketnamingrules.html), minus the ones about AWS's own DNS. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_LIKE = /^\d+\.\d+\.\d+\.\d+$/;
/** S3 keys are at most 1024 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;
/** S3's multipart rules: parts 1..10000, each but the last at least 5 MiB. */
export const MAX_PART_NUMBER = 10_000;
export const MIN_PART_BYTES = 5 * 1024 * 1024;
const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,7}$/;
// 32 symbols, so a byte modulo its length picks each one equally often.
const KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
// A key touched by every request would turn each GET into a write.
const LAST_USED_RESOLUTION_MS = 60_000;
// Above every character a valid UTF-8 key can hold, so `prefix + SKIP` sorts after every key starting with prefix.
const SKIP = "\u{10FFFF}";

export function bucketNameProblem(name: string): string | null {
  if (!BUCKET_NAME.test(name)) return "bucket names are 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit";
  if (name.includes("..")) return "bucket names must not contain two dots in a row";
  if (IPV4_LIKE.test(name)) return "bucket names must not look like an IPv4 address";
  return null;
}

export function artifactNameProblem(name: string): string | null {
  if (!ARTIFACT_NAME.test(name)) {
    return "artifact names are letters, digits, '.', '_' and '-', up to 128 each, in at most 8 '/'-separated parts, each starting with a letter or digit";
  }
  return null;
}

type Raw<T> = Omit<T, "metadata"> & { metadata: string };

export class ObjectCatalog {
  private readonly q;
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
  ) {
    const s = store.sqlite;
    const objectColumns = "bucket, key, digest, size_bytes AS sizeBytes, etag, content_type AS contentType, metadata, last_modified AS lastModified";
    this.q = {
      bucket: s.query<{ name: string; createdAt: number }, [string]>("SELECT name, created_at AS createdAt FROM buckets WHERE name = ?"),
      object: s.query<Raw<ObjectRow>, [string, string]>(`SELECT ${objectColumns} FROM objects WHERE bucket = ? AND key = ?`),
      listFrom: s.query<Raw<ObjectRow>, [string, string, string, number]>(
        `SELECT ${objectColumns} FROM objects WHERE bucket = ? AND key > ? AND key >= ? ORDER BY key LIMIT ?`,
      ),
      upsertObject: s.query<void, [string, string, string, number, string, string, string, number]>(
        `INSERT INTO objects (bucket, key, digest, size_bytes, etag, content_type, metadata, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (bucket, key) DO UPDATE SET digest = excluded.digest, size_bytes = excluded.size_bytes, etag = excluded.etag,
           content_type = excluded.content_type, metadata = excluded.metadata, last_modified = excluded.last_modified`,
      ),
      deleteObject: s.query<void, [string, string]>("DELETE FROM objects WHERE bucket = ? AND key = ?"),
      upload: s.query<Raw<UploadRow>, [string]>(
        "SELECT upload_id AS uploadId, bucket, key, content_type AS contentType, metadata, created_at AS createdAt FROM multipart_uploads WHERE upload_id = ?",
      ),
      parts: s.query<PartRow, [string, number, number]>(
        "SELECT part_number AS partNumber, digest, size_bytes AS sizeBytes, etag, last_modified AS lastModified FROM multipart_parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
      ),
      upsertPart: s.query<void, [string, number, string, number, string, number]>(
        `INSERT INTO multipart_parts (upload_id, part_number, digest, size_bytes, etag, last_modified) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (upload_id, part_number) DO UPDATE SET digest = excluded.digest, size_bytes = excluded.size_bytes, etag = excluded.etag, last_modified = excluded.last_modified`,
      ),
      deleteUpload: s.query<void, [string]>("DELETE FROM multipart_uploads WHERE upload_id = ?"),
      secret: s.query<{ secret: string }, [string]>("SELECT secret FROM s3_keys WHERE access_key_id = ? AND revoked_at IS NULL"),
      artifact: s.query<ArtifactRecord, [string]>(
        "SELECT name, kind, digest, size_bytes AS sizeBytes, content_type AS contentType, source, created_at AS createdAt, updated_at AS updatedAt FROM artifacts WHERE name = ?",
      ),
    };
  }

  // ── S3 access keys ────────────────────────────────────────────────────────────────────────────────────────────

  /** A new key pair; the secret is returned once here and on `goosed s3 key create`, as S3 does. */
  createKey(name: string, actor: Actor): S3KeyRecord & { secretAccessKey: string } {
    if (name.trim() === "") throw invalid("an S3 key needs a name", [{ path: "/name", message: "must not be empty" }]);
    // AWS's shapes: 20 upper-case alphanumerics for the id, 40 characters for the secret.
    const accessKeyId = `GD${[...randomBytes(18)].map((b) => KEY_ALPHABET[b % KEY_ALPHABET.length]).join("")}`;
    const secretAccessKey = randomBytes(30).toString("base64").replaceAll("+", "A").replaceAll("/", "B");
    const now = Date.now();
    this.store.sqlite.transaction(() => {
      this.store.sqlite
        .query("INSERT INTO s3_keys (access_key_id, secret, name, created_by, created_at) VALUES (?, ?, ?, ?, ?)")
        .run(accessKeyId, secretAccessKey, name, actor.id, now);
      recordAudit(this.store.db, actor, "s3-key.create", accessKeyId, { name }, now);
    })();
    return { accessKeyId, secretAccessKey, name, createdBy: actor.id, createdAt: now, lastUsedAt: null, revokedAt: null };
  }

  listKeys(): S3KeyRecord[] {
    return this.store.sqlite
      .query<S3KeyRecord, []>(
        "SELECT access_key_id AS accessKeyId, name, created_by AS createdBy, created_at AS createdAt, last_used_at AS lastUsedAt, revoked_at AS revokedAt FROM s3_keys ORDER BY created_at, access_key_id",
      )
      .all();
  }

  revokeKey(accessKeyId: string, actor: Actor): S3KeyRecord {
    const now = Date.now();
    const found = this.store.sqlite.transaction(() => {
      const changed = this.store.sqlite.query("UPDATE s3_keys SET revoked_at = ? WHERE access_key_id = ? AND revoked_at IS NULL").run(now, accessKeyId);
      if (changed.changes === 0) return false;
      recordAudit(this.store.db, actor, "s3-key.revoke", accessKeyId, {}, now);
      return true;
    })();
    const key = this.listKeys().find((k) => k.accessKeyId === accessKeyId);
    if (!key) throw notFound("s3 key", accessKeyId);
    if (!found && key.revokedAt === null) throw notFound("s3 key", accessKeyId);
    return key;
  }

  /** The secret a request signed with, or null for an unknown or revoked key. */
  secretOf(accessKeyId: string): string | null {
    return this.q.secret.get(accessKeyId)?.secret ?? null;
  }

  /** Notes that a key signed a request, at most once a minute per key. */
  touchKey(accessKeyId: string, nowMs = Date.now()): void {
    if (nowMs - (this.lastTouched.get(accessKeyId) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    this.lastTouched.set(accessKeyId, nowMs);
    this.store.sqlite.query("UPDATE s3_keys SET last_used_at = ? WHERE access_key_id = ?").run(nowMs, accessKeyId);
  }

  // ── Buckets ───────────────────────────────────────────────────────────────────────────────────────────────────

  listBuckets(): { name: string; createdAt: number }[] {
    return this.store.sqlite.query<{ name: string; createdAt: number }, []>("SELECT name, created_at AS createdAt FROM buckets ORDER BY name").all();
  }

  hasBucket(name: string): boolean {
    return this.q.bucket.get(name) !== null;
  }

  requireBucket(name: string): void {
    if (!this.hasBucket(name)) throw new S3Error("NoSuchBucket", { details: { BucketName: name } });
  }

  createBucket(name: string, actor: Actor): void {
    const problem = bucketNameProblem(name);
    if (problem) throw new S3Error("InvalidBucketName", { message: problem, details: { BucketName: name } });
    const now = Date.now();
    const created = this.store.sqlite.transaction(() => {
      const inserted = this.store.sqlite.query("INSERT INTO buckets (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING").run(name, now);
      if (inserted.changes === 0) return false;
      recordAudit(this.store.db, actor, "bucket.create", name, {}, now);
      return true;
    })();
    if (!created) throw new S3Error("BucketAlreadyOwnedByYou", { details: { BucketName: name } });
    this.bus.publish("bucket.created", name, {});
  }

  deleteBucket(name: string, actor: Actor): void {
    const now = Date.now();
    this.store.sqlite.transaction(() => {
      this.requireBucket(name);
      const s = this.store.sqlite;
      if (s.query("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1").get(name) || s.query("SELECT 1 FROM multipart_uploads WHERE bucket = ? LIMIT 1").get(name)) {
        throw new S3Error("BucketNotEmpty", { details: { BucketName: name } });
      }
      s.query("DELETE FROM buckets WHERE name = ?").run(name);
      recordAudit(this.store.db, actor, "bucket.delete", name, {}, now);
    })();
    this.bus.publish("bucket.deleted", name, {});
  }

  // ── Objects ───────────────────────────────────────────────────────────────────────────────────────────────────

  getObject(bucket: string, key: string): ObjectRow | null {
    const row = this.q.object.get(bucket, key);
    return row ? { ...row, metadata: JSON.parse(row.metadata) } : null;
  }

  /** The object, or NoSuchKey (NoSuchBucket when the bucket is what is missing). */
  requireObject(bucket: string, key: string): ObjectRow {
    const row = this.getObject(bucket, key);
    if (row) return row;
    this.requireBucket(bucket);
    throw new S3Error("NoSuchKey", { details: { Key: key } });
  }

  putObject(row: ObjectRow): void {
    this.store.sqlite.transaction(() => {
      this.requireBucket(row.bucket);
      this.q.upsertObject.run(row.bucket, row.key, row.digest, row.sizeBytes, row.etag, row.contentType, JSON.stringify(row.metadata), row.lastModified);
    })();
  }

  /** S3 answers 204 whether or not the key existed; this says which, for the logs. */
  deleteObject(bucket: string, key: string): boolean {
    return this.store.sqlite.transaction(() => {
      this.requireBucket(bucket);
      return this.q.deleteObject.run(bucket, key).changes > 0;
    })();
  }

  /**
   * One page of ListObjectsV2: keys under `prefix` after `after`, with keys sharing the part up to the next
   * `delimiter` rolled into one common prefix that counts once toward maxKeys, as S3 does.
   */
  listObjects(query: ListObjectsQuery): ListObjectsPage {
    this.requireBucket(query.bucket);
    const contents: ObjectRow[] = [];
    const commonPrefixes: string[] = [];
    // Resuming after a common prefix (a continuation token or marker that is one) skips every key under it.
    const rolled = query.delimiter !== "" && query.after.length > query.prefix.length && query.after.startsWith(query.prefix) && query.after.indexOf(query.delimiter, query.prefix.length) === query.after.length - query.delimiter.length;
    let cursor = rolled ? query.after + SKIP : query.after;
    let last: string | null = null;
    const batch = Math.min(Math.max(query.maxKeys + 1, 100), 1000);
    for (;;) {
      const rows = this.q.listFrom.all(query.bucket, cursor, query.prefix, batch);
      if (rows.length === 0) return { contents, commonPrefixes, isTruncated: false, last };
      for (const row of rows) {
        if (!row.key.startsWith(query.prefix)) return { contents, commonPrefixes, isTruncated: false, last };
        const cut = query.delimiter === "" ? -1 : row.key.indexOf(query.delimiter, query.prefix.length);
        const entry = cut === -1 ? row.key : row.key.slice(0, cut + query.delimiter.length);
        if (contents.length + commonPrefixes.length === query.maxKeys) return { contents, commonPrefixes, isTruncated: true, last };
        last = entry;
        if (cut === -1) {
          contents.push({ ...row, metadata: JSON.parse(row.metadata) });
          cursor = row.key;
        } else {
          commonPrefixes.push(entry);
          // Resume past every key under this common prefix.
          cursor = entry + SKIP;
          break;
        }
      }
    }
  }

  // ── Multipart uploads ─────────────────────────────────────────────────────────────────────────────────────────

  createUpload(bucket: string, key: string, contentType: string, metadata: Record<string, string>): UploadRow {
    const row: UploadRow = { uploadId: randomBytes(24).toString("base64url"), bucket, key, contentType, metadata, createdAt: Date.now() };
    this.store.sqlite.transaction(() => {
      this.requireBucket(bucket);
      this.store.sqlite
        .query("INSERT INTO multipart_uploads (upload_id, bucket, key, content_type, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .run(row.uploadId, bucket, key, contentType, JSON.stringify(metadata), row.createdAt);
    })();
    return row;
  }

  /** Uploads in progress under `prefix`, by key then upload id, after the markers. */
  listUploads(bucket: string, prefix: string, keyMarker: string, uploadIdMarker: string, limit: number): UploadRow[] {
    const rows = this.store.sqlite
      .query<Raw<UploadRow>, [string, string, string, string, number]>(
        `SELECT upload_id AS uploadId, bucket, key, content_type AS contentType, metadata, created_at AS createdAt FROM multipart_uploads
         WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2 AND (key > ?3 OR (key = ?3 AND upload_id > ?4)) ORDER BY key, upload_id LIMIT ?5`,
      )
      .all(bucket, prefix, keyMarker, uploadIdMarker, limit);
    return rows.map((row) => ({ ...row, metadata: JSON.parse(row.metadata) }));
  }

  /** The upload, or NoSuchUpload when it is unknown or belongs to another bucket and key. */
  requireUpload(bucket: string, key: string, uploadId: string): UploadRow {
    const row = this.q.upload.get(uploadId);
    if (!row || row.bucket !== bucket || row.key !== key) {
      this.requireBucket(bucket);
      throw new S3Error("NoSuchUpload", { details: { UploadId: uploadId } });
    }
    return { ...row, metadata: JSON.parse(row.metadata) };
  }

  putPart(upload: UploadRow, part: PartRow): void {
    this.store.sqlite.transaction(() => {
      // Aborted or completed while the part streamed in: the part's blob is left for collection.
      if (!this.q.upload.get(upload.uploadId)) throw new S3Error("NoSuchUpload", { details: { UploadId: upload.uploadId } });
      this.q.upsertPart.run(upload.uploadId, part.partNumber, part.digest, part.sizeBytes, part.etag, part.lastModified);
    })();
  }

  listParts(uploadId: string, afterPart: number, maxParts: number): PartRow[] {
    return this.q.parts.all(uploadId, afterPart, maxParts);
  }

  /** Records the assembled object and forgets the upload, in one transaction. */
  completeUpload(upload: UploadRow, object: ObjectRow): void {
    this.store.sqlite.transaction(() => {
      if (!this.q.upload.get(upload.uploadId)) throw new S3Error("NoSuchUpload", { details: { UploadId: upload.uploadId } });
      this.q.upsertObject.run(
        object.bucket,
        object.key,
        object.digest,
        object.sizeBytes,
        object.etag,
        object.contentType,
        JSON.stringify(object.metadata),
        object.lastModified,
      );
      this.q.deleteUpload.run(upload.uploadId);
    })();
  }

  abortUpload(upload: UploadRow): void {
    this.q.deleteUpload.run(upload.uploadId);
  }

  // ── Artifacts ─────────────────────────────────────────────────────────────────────────────────────────────────

  listArtifacts(): ArtifactRecord[] {
    return this.store.sqlite
      .query<ArtifactRecord, []>(
        "SELECT name, kind, digest, size_bytes AS sizeBytes, content_type AS contentType, source, created_at AS createdAt, updated_at AS updatedAt FROM artifacts ORDER BY name",
      )
      .all();
  }

  getArtifact(name: string): ArtifactRecord | null {
    return this.q.artifact.get(name);
  }

  /** Points `name` at content already in the store; re-pointing an existing name replaces it. */
  putArtifact(input: { name: string; kind: ArtifactKind; digest: string; sizeBytes: number; contentType: string; source: string }, actor: Actor): ArtifactRecord {
    const problem = artifactNameProblem(input.name);
    if (problem) throw invalid(`${JSON.stringify(input.name)} is not an artifact name`, [{ path: "/name", message: problem }]);
    if (!ARTIFACT_KINDS.includes(input.kind)) {
      throw invalid(`unknown artifact kind ${JSON.stringify(input.kind)}`, [{ path: "/kind", message: `one of ${ARTIFACT_KINDS.join(", ")}` }]);
    }
    const now = Date.now();
    this.store.sqlite.transaction(() => {
      this.store.sqlite
        .query(
          `INSERT INTO artifacts (name, kind, digest, size_bytes, content_type, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, digest = excluded.digest, size_bytes = excluded.size_bytes,
             content_type = excluded.content_type, source = excluded.source, updated_at = excluded.updated_at`,
        )
        .run(input.name, input.kind, input.digest, input.sizeBytes, input.contentType, input.source, now, now);
      recordAudit(this.store.db, actor, "artifact.put", input.name, { kind: input.kind, digest: input.digest, sizeBytes: input.sizeBytes, source: input.source }, now);
    })();
    this.bus.publish("artifact.added", input.name, { kind: input.kind, digest: input.digest, sizeBytes: input.sizeBytes, source: input.source });
    return this.getArtifact(input.name)!;
  }

  /** Refused while a profile boots it: removing it would break that profile's next install, not this call. */
  removeArtifact(name: string, actor: Actor): void {
    const now = Date.now();
    const removed = this.store.sqlite.transaction(() => {
      const users = this.store.sqlite
        .query<{ name: string }, [string]>(
          `SELECT name FROM profiles WHERE kernel = ?1 OR EXISTS (SELECT 1 FROM json_each(profiles.initrd) WHERE value = ?1)
             OR EXISTS (SELECT 1 FROM json_each(profiles.artifacts) WHERE value = ?1) ORDER BY name`,
        )
        .all(name)
        .map((row) => row.name);
      if (users.length > 0) throw artifactInUse(name, users);
      const changed = this.store.sqlite.query("DELETE FROM artifacts WHERE name = ?").run(name).changes;
      if (changed > 0) recordAudit(this.store.db, actor, "artifact.remove", name, {}, now);
      return changed > 0;
    })();
    if (!removed) throw artifactNotFound(name);
    this.bus.publish("artifact.removed", name, {});
  }

  // ── Collection ────────────────────────────────────────────────────────────────────────────────────────────────

  /** Every digest a row names: what blob collection must keep. */
  liveDigests(): Set<string> {
    const rows = this.store.sqlite
      .query<{ digest: string }, []>("SELECT digest FROM objects UNION SELECT digest FROM multipart_parts UNION SELECT digest FROM artifacts")
      .all();
    return new Set(rows.map((r) => r.digest));
  }

  /** Objects and bytes, for the store-size gauges. */
  totals(): { objects: number; bytes: number; artifacts: number } {
    const o = this.store.sqlite.query<{ n: number; bytes: number | null }, []>("SELECT count(*) AS n, sum(size_bytes) AS bytes FROM objects").get()!;
    const a = this.store.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM artifacts").get()!;
    return { objects: o.n, bytes: o.bytes ?? 0, artifacts: a.n };
  }
}

export const artifactNotFound = (name: string): AppError =>
  new AppError({
    code: "artifact-not-found",
    status: 404,
    title: "Artifact not found",
    detail: `no artifact named ${name}; 'goosed artifact list' shows them, 'goosed artifact add' adds one`,
  });

export const artifactInUse = (name: string, profiles: string[]): AppError =>
  conflict("artifact-in-use", `artifact ${name} is booted by profile(s) ${profiles.join(", ")}; point them at another artifact first (goosed profile set)`);
