// RFC 9457 problem details: every error the API returns, whatever threw it, leaves in this one shape.
import { AppError, type FieldError } from "../lib/errors.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  errors?: FieldError[];
}

export function problemOf(error: AppError, instance: string, requestId: string): Problem {
  return {
    // Served by the appliance itself: an air-gapped operator can follow it.
    type: `/problems/${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.detail,
    instance,
    requestId,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, "x-request-id": problem.requestId, ...headers },
  });
}

export const unauthorized = (detail: string) =>
  new AppError({ code: "unauthorized", status: 401, title: "Authentication required", detail });

export const forbidden = (detail: string) => new AppError({ code: "forbidden", status: 403, title: "Insufficient scope", detail });

export const routeNotFound = (method: string, path: string) =>
  new AppError({ code: "route-not-found", status: 404, title: "Not found", detail: `no route for ${method} ${path}; see /docs for the API` });

export const malformedBody = (detail: string) => new AppError({ code: "malformed-body", status: 400, title: "Malformed request body", detail });

export const bodyTooLarge = (limitBytes: number) =>
  new AppError({
    code: "body-too-large",
    status: 413,
    title: "Request body too large",
    detail: `request bodies are limited to ${limitBytes} bytes; artifacts go through bundles or the object store`,
  });

export const unsupportedMediaType = (got: string, expected = "application/json") =>
  new AppError({ code: "unsupported-media-type", status: 415, title: "Unsupported media type", detail: `expected ${expected}, got ${got}` });

export const internalError = () =>
  new AppError({
    code: "internal-error",
    status: 500,
    title: "Internal error",
    detail: "goosed hit an unexpected error; the log has the details under this request id",
  });
