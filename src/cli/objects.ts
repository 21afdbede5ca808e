// `goosed artifact list|add|rm` and `goosed s3 key create|list|revoke`: the object store from the command line.
import { stat } from "node:fs/promises";
import type { CAC } from "cac";
import { artifactKindOf } from "../objects/artifact-kind.ts";
import type { ApiClient } from "./client.ts";
import { age, createByteProgress, mib, printJson, printTable } from "./output.ts";
import { CliError, UsageError } from "./usage.ts";

interface ArtifactView {
  name: string;
  kind: string;
  digest: string;
  sizeBytes: number;
  contentType: string;
  source: string;
  updatedAt: string;
  url: string;
}

interface S3KeyView {
  accessKeyId: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  secretAccessKey?: string;
}

const KINDS = ["kernel", "initrd", "iso", "squashfs", "wim", "loader", "other"];

/** The file's bytes, with a progress bar (bytes, rate, time left) as they go. */
function withProgress(file: Blob, sizeBytes: number): ReadableStream<Uint8Array> {
  const progress = createByteProgress();
  let sent = 0;
  return file.stream().pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sent += chunk.byteLength;
        progress.update("uploading", sent, sizeBytes);
        controller.enqueue(chunk);
      },
      flush() {
        progress.done();
      },
    }),
  );
}

export function registerObjects(cli: CAC, client: (options: Record<string, unknown>) => ApiClient): void {
  cli.command("artifact list", "List artifacts machines fetch at /artifacts/<name>").action(async (options: Record<string, unknown>) => {
    const { items } = await client(options).request<{ items: ArtifactView[] }>("GET", "/v1/artifacts");
    if (options.json) return printJson(items);
    printTable(
      ["name", "kind", "size", "sha256", "source", "updated"],
      items.map((a) => [a.name, a.kind, mib(a.sizeBytes), a.digest.slice(0, 12), a.source, age(a.updatedAt)]),
    );
  });

  cli
    .command("artifact add <name> [file]", "Add or replace an artifact from a file, or from an object already in the S3 store (--from s3://bucket/key)")
    .option("--kind <kind>", `one of ${KINDS.join(", ")}; default: guessed from the file name`)
    .option("--from <url>", "name an existing object instead of uploading: s3://bucket/key")
    .option("--content-type <type>", "Content-Type machines get (default application/octet-stream)")
    .action(async (name: string, file: string | undefined, options: Record<string, unknown>) => {
      const kind = options.kind === undefined ? artifactKindOf(String(file ?? options.from ?? name)) : String(options.kind);
      if (!KINDS.includes(kind)) throw new UsageError(`--kind must be one of ${KINDS.join(", ")}, got ${kind}`, "artifact add");
      let added: ArtifactView;
      if (options.from !== undefined) {
        if (file !== undefined) throw new UsageError("give a file or --from, not both", "artifact add");
        const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(String(options.from));
        if (!match) throw new UsageError(`--from expects s3://bucket/key, got ${options.from}`, "artifact add");
        added = await client(options).request<ArtifactView>("POST", "/v1/artifacts", { name, kind, bucket: match[1], key: match[2] });
      } else {
        if (file === undefined) throw new UsageError("give the file to upload, or --from s3://bucket/key", "artifact add");
        const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
          throw new CliError(`cannot read ${file} (${err.code}); check the path`);
        });
        if (!info.isFile()) throw new CliError(`${file} is not a regular file`);
        const query = new URLSearchParams({ kind, source: `upload:${file.split("/").at(-1)}` });
        if (options.contentType !== undefined) query.set("contentType", String(options.contentType));
        added = await client(options).upload<ArtifactView>("PUT", `/v1/artifacts/${name}?${query}`, withProgress(Bun.file(file), info.size), info.size);
      }
      if (options.json) return printJson(added);
      process.stdout.write(`artifact ${added.name} (${added.kind}, ${mib(added.sizeBytes)}, sha256 ${added.digest}) at ${added.url}\n`);
    });

  cli.command("artifact rm <name>", "Remove an artifact's name; its content is collected once nothing names it").action(async (name: string, options: Record<string, unknown>) => {
    await client(options).request("DELETE", `/v1/artifacts/${name}`);
    if (!options.json) process.stdout.write(`artifact ${name} removed\n`);
  });

  cli
    .command("s3 key create <name>", "Create an S3 access key for awscli, s3cmd or the minio client; the secret is printed once")
    .action(async (name: string, options: Record<string, unknown>) => {
      const created = await client(options).request<S3KeyView>("POST", "/v1/s3/keys", { name });
      if (options.json) return printJson(created);
      process.stdout.write(`AWS_ACCESS_KEY_ID=${created.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${created.secretAccessKey}\n`);
      process.stderr.write(`S3 key ${created.accessKeyId} (${created.name}) created; store the secret now, it is not shown again\n`);
    });

  cli.command("s3 key list", "List S3 access keys").action(async (options: Record<string, unknown>) => {
    const { items } = await client(options).request<{ items: S3KeyView[] }>("GET", "/v1/s3/keys");
    if (options.json) return printJson(items);
    printTable(
      ["access key id", "name", "created", "last used", "state"],
      items.map((k) => [k.accessKeyId, k.name, age(k.createdAt), age(k.lastUsedAt), k.revokedAt ? "revoked" : "active"]),
    );
  });

  cli.command("s3 key revoke <id>", "Revoke an S3 access key").action(async (id: string, options: Record<string, unknown>) => {
    const revoked = await client(options).request<S3KeyView>("DELETE", `/v1/s3/keys/${encodeURIComponent(id)}`);
    if (options.json) return printJson(revoked);
    process.stdout.write(`S3 key ${revoked.accessKeyId} (${revoked.name}) revoked\n`);
  });
}
