// Artifacts over HTTP (/artifacts/<name>, no credentials: firmware and installers have none) and over TFTP.
import { TftpErrorCode, type TftpFiles, type TftpOpenResult } from "../tftp/index.ts";
import type { BlobBackend } from "./backend.ts";
import type { ObjectCatalog } from "./catalog.ts";
import { etagOf } from "./conditional.ts";
import { serveObject } from "./serve.ts";

export const ARTIFACTS_PATH = "/artifacts";

/** The artifact a request names, or null; names are percent-decoded, and a name that does not decode names nothing. */
function artifactName(url: string): string | null {
  const start = url.indexOf(`${ARTIFACTS_PATH}/`);
  if (start === -1) return null;
  const end = url.indexOf("?", start);
  try {
    return decodeURIComponent(url.slice(start + ARTIFACTS_PATH.length + 1, end === -1 ? undefined : end));
  } catch {
    return null;
  }
}

export type ArtifactAnswer = { ok: true; response: Response } | { ok: false; status: 404 | 405 | 412 | 416; detail: string; headers?: Record<string, string> };

/**
 * GET and HEAD of an artifact with Range, multi-range and conditionals. The ETag is the content's sha256, so a
 * machine's cache stays valid across re-imports of the same bytes under the same name.
 */
export async function answerArtifact(request: Request, catalog: ObjectCatalog, backend: BlobBackend, sent: (bytes: number) => void): Promise<ArtifactAnswer> {
  if (request.method !== "GET" && request.method !== "HEAD") return { ok: false, status: 405, detail: "artifacts are read with GET or HEAD", headers: { allow: "GET, HEAD" } };
  const name = artifactName(request.url);
  const artifact = name === null ? null : catalog.getArtifact(name);
  if (!artifact) return { ok: false, status: 404, detail: `no artifact named ${name ?? "(undecodable)"}; 'goosed artifact list' shows them` };
  const answer = await serveObject(
    request,
    {
      sizeBytes: artifact.sizeBytes,
      etag: etagOf(artifact.digest),
      lastModifiedMs: artifact.updatedAt,
      contentType: artifact.contentType,
      extraHeaders: { "x-goosed-artifact-kind": artifact.kind, "x-goosed-sha256": artifact.digest },
    },
    (range) => backend.read(artifact.digest, range),
  );
  switch (answer.kind) {
    case "response":
      if (request.method === "GET") sent(Number(answer.response.headers.get("content-length") ?? 0));
      return { ok: true, response: answer.response };
    case "missing":
      return { ok: false, status: 404, detail: `the content of artifact ${artifact.name} (${artifact.digest}) is missing from the blob store; run the blobs.verify job and re-import it` };
    case "precondition-failed":
      return { ok: false, status: 412, detail: "a precondition (If-Match or If-Unmodified-Since) does not hold" };
    case "unsatisfiable":
      return { ok: false, status: 416, detail: `no requested range lies within the artifact's ${artifact.sizeBytes} bytes`, headers: { "content-range": `bytes */${artifact.sizeBytes}` } };
  }
}

const NOT_FOUND: TftpOpenResult = { ok: false, code: TftpErrorCode.FileNotFound, message: "file not found" };

/** Artifacts by name for the TFTP server: local blobs are mmapped; remote ones are fetched whole (TFTP files are small). */
export function artifactTftpFiles(catalog: ObjectCatalog, backend: BlobBackend): TftpFiles {
  return {
    async open(path) {
      const name = path.replace(/^[/\\]+/, "").replaceAll("\\", "/");
      const artifact = catalog.getArtifact(name);
      if (!artifact) return NOT_FOUND;
      const body = await backend.read(artifact.digest);
      if (!body) return NOT_FOUND;
      if (artifact.sizeBytes === 0) return { ok: true, file: { size: 0, bytes: new Uint8Array(0) } };
      const bytes = body instanceof Blob && "name" in body && typeof body.name === "string" ? Bun.mmap(body.name, { shared: false }) : await Bun.readableStreamToBytes(body instanceof Blob ? body.stream() : body);
      return { ok: true, file: { size: bytes.length, bytes } };
    },
  };
}
