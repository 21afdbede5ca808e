// Unauthenticated boot-path routes for firmware and installers: iPXE scripts, artifacts, install documents, the
// cloud-init NoCloud tree and the agent files. Install documents are authenticated by the run's installer token.
import { randomBytes } from "node:crypto";
import type { Server } from "bun";
import { Elysia, t } from "elysia";
import { AGENT_FILES } from "../agents/index.ts";
import type { BootService, InstallDocument } from "../boot/index.ts";
import type { Config } from "../config/index.ts";
import { AppError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { internalError, problemOf, problemResponse } from "./problem.ts";
import { requestState } from "./request-state.ts";
import { oneOf } from "./query.ts";
import type { TftpFiles } from "../tftp/index.ts";

export interface BootRouteDeps {
  boot: BootService;
  config: Readonly<Config>;
  /** iPXE loaders by name (built in, or brought by a bundle), for UEFI HTTP boot. */
  loaders?: TftpFiles;
}

const TEXT = "text/plain; charset=utf-8";
const RENDER_KINDS = ["kickstart", "preseed", "autoinstall", "unattend"] as const;
const CLOUD_INIT_DOCUMENTS = ["meta-data", "user-data", "vendor-data"] as const;

const CONTENT_TYPES: Record<InstallDocument, string> = {
  kickstart: TEXT,
  preseed: TEXT,
  autoinstall: "text/yaml; charset=utf-8",
  unattend: "application/xml; charset=utf-8",
  "meta-data": "text/yaml; charset=utf-8",
  "user-data": "text/yaml; charset=utf-8",
  "vendor-data": "text/yaml; charset=utf-8",
};

const applianceUrlOf = (config: Readonly<Config>, url: URL) => config.boot.publicUrl.replace(/\/+$/, "") || url.origin;
// One Headers object for every boot script: building one per response shows in a storm profile.
const SCRIPT_HEADERS = new Headers({ "content-type": TEXT, "cache-control": "no-store" });

export const BOOT_SCRIPT_PATH = "/boot/boot.ipxe";

/**
 * GET /boot/boot.ipxe as a plain Bun route ahead of Elysia: every machine in a boot storm fetches it, and the
 * framework's per-request hooks cost more than the script. It keeps the API's metrics and logs failures itself.
 */
export function bootScriptRoute({ boot, config }: BootRouteDeps, observe: { log: Logger; done(status: number, seconds: number): void }) {
  return async (request: Request, server: Server<unknown>): Promise<Response> => {
    const startedMs = performance.now();
    const url = new URL(request.url);
    let response: Response;
    try {
      const script = await boot.bootScript({
        mac: url.searchParams.get("mac") ?? undefined,
        arch: url.searchParams.get("arch") ?? undefined,
        source: () => server.requestIP(request)?.address ?? null,
        applianceUrl: applianceUrlOf(config, url),
      });
      response = new Response(script, { headers: SCRIPT_HEADERS });
    } catch (error) {
      const requestId = randomBytes(8).toString("hex");
      observe.log.error("request failed", { requestId, method: "GET", path: BOOT_SCRIPT_PATH, error });
      response = problemResponse(problemOf(internalError(), BOOT_SCRIPT_PATH, requestId));
    }
    observe.done(response.status, (performance.now() - startedMs) / 1000);
    return response;
  };
}

export function bootRoutes({ boot, config, loaders }: BootRouteDeps) {
  const applianceUrl = (request: Request) => applianceUrlOf(config, new URL(request.url));
  const source = (request: Request) => requestState(request).source ?? null;

  return new Elysia({ tags: ["boot"] })
    .get(
      BOOT_SCRIPT_PATH,
      // Served by bootScriptRoute in production; this route documents it and answers in-process callers.
      async ({ query, request, set }) => {
        set.headers["content-type"] = TEXT;
        set.headers["cache-control"] = "no-store";
        return boot.bootScript({ mac: query.mac, arch: query.arch, source: () => source(request), applianceUrl: applianceUrl(request) });
      },
      {
        query: t.Object({ mac: t.Optional(t.String()), arch: t.Optional(t.String()) }),
        detail: { summary: "The boot script for a MAC (iPXE: ?mac=${mac}&arch=${buildarch}); always a valid iPXE script", security: [] },
      },
    )
    .get(
      "/boot/install.ipxe",
      ({ query, request, set }) => {
        set.headers["content-type"] = TEXT;
        set.headers["cache-control"] = "no-store";
        return boot.installScript(query.token, query.mac, source(request), applianceUrl(request));
      },
      {
        query: t.Object({ token: t.String(), mac: t.Optional(t.String()) }),
        detail: { summary: "Stage two of an install boot: spends the one-time boot token, answers kernel, initrd and command line", security: [] },
      },
    )
    .get(
      "/boot/menu.ipxe",
      ({ query, request, set }) => {
        set.headers["content-type"] = TEXT;
        set.headers["cache-control"] = "no-store";
        return boot.menuChoice(query.mac, query.choice, source(request), applianceUrl(request));
      },
      {
        query: t.Object({ mac: t.Optional(t.String()), choice: t.String({ minLength: 1 }) }),
        detail: { summary: "A profile chosen at the console of a machine whose boot policy is menu", security: [] },
      },
    )
    .get(
      "/boot/loaders/:name",
      async ({ params }) => {
        const opened = loaders ? await loaders.open(params.name) : null;
        if (!opened?.ok) {
          throw new AppError({
            code: "loader-not-found",
            status: 404,
            title: "Loader not found",
            detail: `no loader ${params.name}; goosed serves undionly.kpxe, ipxe.efi and snponly.efi, and others a bundle brings`,
          });
        }
        return new Response(opened.file.bytes, { headers: { "content-type": "application/efi" } });
      },
      { detail: { summary: "iPXE loaders for UEFI HTTP boot (ipxe.efi, snponly.efi, ...)", security: [] } },
    )
    .get(
      "/v1/render/:kind",
      ({ params, query, request, set }) => {
        set.headers["content-type"] = CONTENT_TYPES[params.kind];
        return boot.installDocument(params.kind, query.token, source(request), applianceUrl(request), `GET /v1/render/${params.kind}`);
      },
      {
        params: t.Object({ kind: oneOf(RENDER_KINDS) }),
        query: t.Object({ token: t.String() }),
        detail: { summary: "The install document of a run (kickstart, preseed, autoinstall, unattend); ?token= is the installer token", security: [] },
      },
    )
    .get(
      "/cloud-init/:token/:document",
      ({ params, request, set }) => {
        set.headers["content-type"] = CONTENT_TYPES[params.document];
        return boot.installDocument(params.document, params.token, source(request), applianceUrl(request), `GET /cloud-init/${params.document}`);
      },
      {
        params: t.Object({ token: t.String(), document: oneOf(CLOUD_INIT_DOCUMENTS) }),
        detail: { summary: "cloud-init NoCloud seed: ds=nocloud-net;s=http://<appliance>/cloud-init/<installer token>/", security: [] },
      },
    )
    .get(
      "/agents/*",
      ({ params }) => {
        const file = AGENT_FILES.get(`/agents/${params["*"]}`);
        if (!file) throw new AppError({ code: "agent-file-not-found", status: 404, title: "Not found", detail: `no agent file ${params["*"]}` });
        return new Response(file.body, { headers: { "content-type": file.contentType } });
      },
      { detail: { summary: "Agent files installers download (linux/goosed-agent, windows/goosed-agent.ps1, ...)", security: [] } },
    );
}
