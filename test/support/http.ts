// Reading API answers in tests: the status is checked first, and a mismatch shows the body that came instead.
import { expect } from "bun:test";

/** The JSON body of a response that must have `status`; typed loosely, as the API documents its shapes. */
export async function json<T = any>(response: Response | Promise<Response>, status: number): Promise<T> {
  const r = await response;
  const text = await r.text();
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** An RFC 9457 problem: checks status and media type, returns the body. */
export async function problem(response: Response | Promise<Response>, status: number): Promise<any> {
  const r = await response;
  const text = await r.text();
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${text}`);
  expect(r.headers.get("content-type")).toBe("application/problem+json");
  return JSON.parse(text);
}

/** GET `url` as plain text (an iPXE script, a kickstart), which must answer `status`. */
export async function text(url: string, status = 200): Promise<string> {
  const r = await fetch(url);
  const body = await r.text();
  if (r.status !== status) throw new Error(`GET ${url}: expected ${status}, got ${r.status}: ${body}`);
  return body;
}

/** Logs in to the status page with `token` as its form does; the `goosed_session=…` pair to send as a Cookie. */
export async function statusPageCookie(baseUrl: string, token: string): Promise<string> {
  const response = await fetch(`${baseUrl}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });
  if (response.status !== 303) throw new Error(`status page login: expected 303, got ${response.status}: ${await response.text()}`);
  return response.headers.get("set-cookie")!.split(";")[0]!;
}
