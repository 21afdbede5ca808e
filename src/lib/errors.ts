// The one error type core/ throws; api/ renders it as RFC 9457 problem JSON, the CLI as one line.

export interface FieldError {
  /** JSON pointer-ish path of the offending field, e.g. `/http/port` or `/scopes/0`. */
  path: string;
  message: string;
}

export interface AppErrorInit {
  code: string;
  status: number;
  title: string;
  detail: string;
  errors?: FieldError[];
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors?: FieldError[];

  constructor(init: AppErrorInit) {
    super(init.detail, { cause: init.cause });
    this.name = "AppError";
    this.code = init.code;
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.errors = init.errors;
  }
}

export const notFound = (what: string, id: string | number): AppError =>
  new AppError({
    code: `${what}-not-found`,
    status: 404,
    title: `${what[0]!.toUpperCase()}${what.slice(1)} not found`,
    detail: `no ${what} with id ${id}`,
  });

export const conflict = (code: string, detail: string): AppError =>
  new AppError({ code, status: 409, title: "Conflict", detail });

export const invalid = (detail: string, errors: FieldError[]): AppError =>
  new AppError({ code: "validation-failed", status: 422, title: "Validation failed", detail, errors });
