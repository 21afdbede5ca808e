// Unauthenticated boot-path routes for firmware and installers: iPXE scripts, artifacts, install documents, the
// cloud-init NoCloud tree and the agent files. Install documents are authenticated by the run's installer token.
import { join } from "node:path";
import { Elysia, t } from "elysia";
import { AGENT_FILES } from "../agents/index.ts";
import type { BootService, InstallDocument } from "../boot/index.ts";
import type { Config } from "../config/index.ts";
import { AppError } from "../lib/errors.ts";
import { requestState } from "./request-state.ts";

export interface BootRouteDeps {
  boot: BootService;
  config: Readonly<Config>;
}

const TEXT = "text/plain; charset=utf-8";
// Artifact keys are relative paths without '..' (checked again when a profile is saved).
const ARTIFACT_KEY = /^(?!.*(^|\/)\.\.?(\/|$))[\w.+-]+(\/[\w.+-]+)*$/;
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

const artifactMissing = (key: string) =>
  new AppError({ code: "artifact-not-found", status: 404, title: "Artifact not found", detail: `no artifact ${key}; import the bundle that brings it` });

export function bootRoutes({ boot, config }: BootRouteDeps) {
  const applianceUrl = (request: Request) => config.boot.publicUrl.replace(/\/+$/, "") || new URL(request.url).origin;
  const source = (request: Request) => requestState(request).source ?? null;
  const artifactsDir = join(config.dataDir, "artifacts");

  return new Elysia({ tags: ["boot"] })
    .get(
      "/boot/boot.ipxe",
      async ({ query, request, set }) => {
        set.headers["content-type"] = TEXT;
        set.headers["cache-control"] = "no-store";
        return boot.bootScript({ mac: query.mac, arch: query.arch, source: source(request), applianceUrl: applianceUrl(request) });
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
      "/boot/artifacts/*",
      async ({ params }) => {
        const key = decodeURIComponent(params["*"]);
        if (!ARTIFACT_KEY.test(key)) throw artifactMissing(key);
        const file = Bun.file(join(artifactsDir, key));
        if (!(await file.exists())) throw artifactMissing(key);
        return new Response(file, { headers: { "content-type": "application/octet-stream" } });
      },
      { detail: { summary: "Kernels, initrds and other boot artifacts (files under <data>/artifacts)", security: [] } },
    )
    .get(
      "/v1/render/:kind",
      ({ params, query, request, set }) => {
        set.headers["content-type"] = CONTENT_TYPES[params.kind];
        return boot.installDocument(params.kind, query.token, source(request), applianceUrl(request), `GET /v1/render/${params.kind}`);
      },
      {
        params: t.Object({ kind: t.UnionEnum(RENDER_KINDS) }),
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
        params: t.Object({ token: t.String(), document: t.UnionEnum(CLOUD_INIT_DOCUMENTS) }),
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
