// The CLI's HTTP client: finds the appliance and its token, and turns problem JSON into one clear error line.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config/index.ts";
import { ADMIN_TOKEN_FILE } from "../core/index.ts";
import { CliError } from "./usage.ts";

export interface ClientOptions {
  api?: string;
  token?: string;
}

export interface ClientDefaults {
  env: Record<string, string | undefined>;
  dataDir: string;
  httpPort: number;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await this.send(method, path, body);
    return (text ? safeJson(text) : undefined) as T;
  }

  /** For endpoints that answer plain text (a rendered template): the body exactly as sent. */
  requestText(method: string, path: string, body?: unknown): Promise<string> {
    return this.send(method, path, body);
  }

  /** Streams `body` (a file, say) as the request body, its length declared so the server can check it arrived whole. */
  async upload<T>(method: string, path: string, body: ReadableStream<Uint8Array>, sizeBytes: number): Promise<T> {
    const text = await this.send(method, path, body, { "content-type": "application/octet-stream", "content-length": String(sizeBytes) });
    return (text ? safeJson(text) : undefined) as T;
  }

  private async send(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<string> {
    const url = new URL(path, this.baseUrl);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(headers ?? (body === undefined ? {} : { "content-type": "application/json" })),
        },
        body: body === undefined ? undefined : body instanceof ReadableStream ? body : JSON.stringify(body),
      });
    } catch (err) {
      throw new CliError(`cannot reach goosed at ${this.baseUrl} (${(err as Error).message}); is it running? start it with goosed serve, or pass --api`, {
        cause: err,
      });
    }
    const text = await response.text();
    if (!response.ok) {
      const problem = safeJson(text) as { title?: string; detail?: string; errors?: Array<{ path: string; message: string }> } | undefined;
      const fields = problem?.errors ?? [];
      const summary = fields.map((e) => `${e.path} ${e.message}`).join("; ");
      throw new CliError(`${problem?.detail ?? problem?.title ?? `HTTP ${response.status}`}${summary ? ` (${summary})` : ""}`, { fields });
    }
    return text;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Where the goosed on this machine keeps its data and listens. */
export interface LocalAppliance {
  dataDir: string;
  httpHost: string;
  httpPort: number;
}

/**
 * Read from goosed's configuration file (GOOSED_CONFIG, else the system one), then GOOSED_DATA_DIR and
 * GOOSED_HTTP_PORT. A broken file is `goosed serve`'s to report: a client command still runs, on `fallback`.
 */
export function localAppliance(env: Record<string, string | undefined>, fallback: LocalAppliance): LocalAppliance {
  let local = fallback;
  try {
    const { config } = loadConfig({ env: {}, flags: {}, cwd: process.cwd(), configPath: env.GOOSED_CONFIG });
    local = { dataDir: config.dataDir, httpHost: config.http.host, httpPort: config.http.port };
  } catch {
    // keep the fallback
  }
  return { ...local, dataDir: env.GOOSED_DATA_DIR ?? local.dataDir, httpPort: env.GOOSED_HTTP_PORT ? Number(env.GOOSED_HTTP_PORT) : local.httpPort };
}

/** --api / GOOSED_API, else the local appliance; --token / GOOSED_TOKEN, else the admin-token file. */
export function connect(options: ClientOptions, defaults: ClientDefaults): ApiClient {
  const api = options.api ?? defaults.env.GOOSED_API ?? `http://127.0.0.1:${defaults.httpPort}`;
  let token = options.token ?? defaults.env.GOOSED_TOKEN;
  if (!token) {
    const path = join(defaults.dataDir, ADMIN_TOKEN_FILE);
    try {
      token = readFileSync(path, "utf8").trim();
    } catch (err) {
      throw new CliError(
        `no API token: cannot read ${path} (${(err as NodeJS.ErrnoException).code}); pass --token or set GOOSED_TOKEN`,
        { cause: err },
      );
    }
  }
  return new ApiClient(api, token);
}
