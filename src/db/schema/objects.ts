// The object store's metadata: buckets, objects and multipart uploads point at content-addressed blobs by sha256;
// artifacts pin a blob under a name machines fetch; S3 access keys sign requests to the S3 API.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const buckets = sqliteTable("buckets", {
  name: text("name").primaryKey(),
  createdAt: integer("created_at").notNull(),
});

export const objects = sqliteTable(
  "objects",
  {
    bucket: text("bucket")
      .notNull()
      .references(() => buckets.name),
    key: text("key").notNull(),
    /** sha256 of the content: the blob's name. */
    digest: text("digest").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    /** S3's ETag without quotes: the MD5 of a single PUT, `md5-of-part-md5s-N` of a multipart upload. */
    etag: text("etag").notNull(),
    contentType: text("content_type").notNull(),
    /** x-amz-meta-* fields, names lower-cased without the prefix. */
    metadata: text("metadata", { mode: "json" }).$type<Record<string, string>>().notNull(),
    lastModified: integer("last_modified").notNull(),
  },
  (t) => [primaryKey({ columns: [t.bucket, t.key] }), index("objects_digest").on(t.digest)],
);

export const multipartUploads = sqliteTable(
  "multipart_uploads",
  {
    uploadId: text("upload_id").primaryKey(),
    bucket: text("bucket")
      .notNull()
      .references(() => buckets.name),
    key: text("key").notNull(),
    contentType: text("content_type").notNull(),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, string>>().notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("multipart_uploads_bucket_key").on(t.bucket, t.key)],
);

export const multipartParts = sqliteTable(
  "multipart_parts",
  {
    uploadId: text("upload_id")
      .notNull()
      .references(() => multipartUploads.uploadId, { onDelete: "cascade" }),
    partNumber: integer("part_number").notNull(),
    digest: text("digest").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    /** MD5 of the part, hex. */
    etag: text("etag").notNull(),
    lastModified: integer("last_modified").notNull(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.partNumber] }), index("multipart_parts_digest").on(t.digest)],
);

export const ARTIFACT_KINDS = ["kernel", "initrd", "iso", "squashfs", "wim", "loader", "other"] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export const artifacts = sqliteTable(
  "artifacts",
  {
    name: text("name").primaryKey(),
    kind: text("kind", { enum: ARTIFACT_KINDS }).notNull(),
    /** Pinned content: re-pointing the name is a new row version, never an in-place change of bytes being served. */
    digest: text("digest").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    contentType: text("content_type").notNull(),
    /** Where the content came from, for the operator: `s3://bucket/key`, `upload`, or a bundle. */
    source: text("source").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("artifacts_digest").on(t.digest)],
);

export const s3Keys = sqliteTable("s3_keys", {
  accessKeyId: text("access_key_id").primaryKey(),
  /** SigV4 signs with the secret itself, so unlike API tokens it is stored, and the database file is 0600. */
  secret: text("secret").notNull(),
  name: text("name").notNull(),
  createdBy: text("created_by").notNull(),
  createdAt: integer("created_at").notNull(),
  lastUsedAt: integer("last_used_at"),
  revokedAt: integer("revoked_at"),
});
