// The render context of an install: machine, profile, run, URLs and layered variables, in the names templates use.
import type { Core, ProfileRow } from "../core/index.ts";
import { installUrls, layerVars, type RenderContext } from "../render/index.ts";

export interface InstallParts {
  machineId: number;
  runId: number;
  /** The run's installer token, embedded in URLs the installer fetches next; empty when none applies. */
  token: string;
  applianceUrl: string;
}

export const artifactUrl = (applianceUrl: string, key: string) => `${applianceUrl}/artifacts/${key.split("/").map(encodeURIComponent).join("/")}`;


export function profileContext(applianceUrl: string, profile: ProfileRow): RenderContext["profile"] {
  return {
    name: profile.name,
    os_family: profile.osFamily,
    kernel_url: artifactUrl(applianceUrl, profile.kernel),
    initrd_urls: profile.initrd.map((key) => artifactUrl(applianceUrl, key)),
    artifacts: Object.fromEntries(Object.entries(profile.artifacts).map(([name, key]) => [name, artifactUrl(applianceUrl, key)])),
  };
}

/** The context of the run an installer token belongs to. */
export function installContext(core: Core, globalVars: Record<string, unknown>, parts: InstallParts): { context: RenderContext; profile: ProfileRow } {
  const run = core.runs.runRow(core.store.db, parts.runId);
  const profile = core.profiles.row(run.profileId);
  return { context: renderContext(core, globalVars, { ...parts, profile, run }), profile };
}

/** Variables layer global → group → profile → machine → run: the more specific layer wins. */
export function renderContext(
  core: Core,
  globalVars: Record<string, unknown>,
  parts: { machineId: number; profile: ProfileRow; run: { id: number; vars: Record<string, unknown> }; token: string; applianceUrl: string },
): RenderContext {
  const machine = core.machines.get(parts.machineId);
  const groupVars = machine.group ? core.groups.get(machine.group).vars : {};
  const primary = machine.interfaces[0];
  return {
    appliance_url: parts.applianceUrl,
    token: parts.token,
    machine: {
      id: machine.id,
      hostname: machine.hostname ?? `node-${(primary?.mac ?? String(machine.id)).replaceAll(":", "")}`,
      serial: machine.serial ?? "",
      arch: machine.arch ?? "",
      mac: primary?.mac ?? "",
      macs: machine.interfaces.map((i) => i.mac),
      ip: primary?.ip ?? "",
      labels: machine.labels,
      group: machine.group ?? "",
    },
    profile: profileContext(parts.applianceUrl, parts.profile),
    run: { id: parts.run.id },
    urls: installUrls(parts.applianceUrl, parts.token),
    cmdline: "",
    vars: layerVars(globalVars, groupVars, parts.profile.vars, machine.vars, parts.run.vars),
  };
}
