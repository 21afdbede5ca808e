// Reads JSON request bodies with a hard size cap, whether or not the client sent Content-Length.
import { bodyTooLarge, malformedBody, unsupportedMediaType } from "./problem.ts";

export async function readJsonBody(request: Request, limitBytes: number): Promise<unknown> {
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
  if (size === 0) return undefined;
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) throw unsupportedMediaType(type || "no content-type");
  const text = new TextDecoder("utf-8", { fatal: false }).decode(Buffer.concat(chunks));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw malformedBody(`request body is not valid JSON: ${(err as Error).message}`);
  }
}
