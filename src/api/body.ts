// Reads JSON request bodies with a hard size cap, whether or not the client sent Content-Length.
import { bodyTooLarge, malformedBody, unsupportedMediaType } from "./problem.ts";

/** The body's bytes, refused with 413 as soon as it passes the limit. */
export async function readRawBody(request: Request, limitBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > limitBytes) throw bodyTooLarge(limitBytes);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      size += chunk.byteLength;
      if (size > limitBytes) throw bodyTooLarge(limitBytes);
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks);
}

export async function readJsonBody(request: Request, limitBytes: number): Promise<unknown> {
  const bytes = await readRawBody(request, limitBytes);
  if (bytes.byteLength === 0) return undefined;
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) throw unsupportedMediaType(type || "no content-type");
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw malformedBody(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** An HTML form's fields (application/x-www-form-urlencoded), size-capped like JSON bodies; the last value of a name wins. */
export async function readFormBody(request: Request, limitBytes: number): Promise<Record<string, string>> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) throw unsupportedMediaType(type || "no content-type", "an HTML form (application/x-www-form-urlencoded)");
  const bytes = await readRawBody(request, limitBytes);
  return Object.fromEntries(new URLSearchParams(new TextDecoder().decode(bytes)));
}
