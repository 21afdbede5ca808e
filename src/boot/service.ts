// The boot decision: what a MAC boots next, as an iPXE script, and what its installer is told.
//
// Two stages keep the one-time boot token one-time while installers fetch many files: boot.ipxe (the hot path) hands
// out a fresh boot token and chains install.ipxe with the MAC iPXE itself reports; install.ipxe spends the token and
// answers with kernel, initrd and a command line that carries the run's installer token.
import { type BootLookup, type Core, INSTALL_TEMPLATES, type ProfileRow, templateSource } from "../core/index.ts";
import type { BootPolicy, InstallKind } from "../db/index.ts";
import { AppError } from "../lib/errors.ts";
import { MAC_SPELLINGS, parseMac } from "../lib/mac.ts";
import { installUrls, type RenderContext, renderTemplate, type TemplateName } from "../render/index.ts";
import { installContext, renderContext } from "./context.ts";

export interface BootRequest {
  /** The `mac` query parameter as iPXE sent it. */
  mac: string | undefined;
  arch: string | undefined;
  /** The client's address; a function because most boot scripts never need it and asking costs time in a storm. */
  source: () => string | null;
  applianceUrl: string;
}

export interface BootSettings {
  discoveryPolicy: BootPolicy;
  globalVars: Record<string, unknown>;
}

/** What an installer endpoint serves for an install kind. */
export type InstallDocument = "kickstart" | "preseed" | "autoinstall" | "unattend" | "meta-data" | "user-data" | "vendor-data";

// Stands in for the installer token in a preview; it is not a valid token, so a previewed URL cannot be used.
const PREVIEW_TOKEN = "gi_preview";
// iPXE's ${buildarch}: i386, x86_64, arm32, arm64, riscv64 ...
const ARCH = /^[a-z0-9_]{1,16}$/;
const CLOUD_INIT_DOCUMENTS: Record<string, TemplateName> = {
  "meta-data": "cloud-init-meta-data",
  "vendor-data": "cloud-init-vendor-data",
};

export class BootService {
  private readonly localScripts = new Map<string, string>();

  constructor(
    private readonly core: Core,
    private readonly settings: BootSettings,
  ) {}

  /** Never throws: whatever is wrong becomes a script that says so and boots on, because firmware cannot read JSON. */
  async bootScript(request: BootRequest): Promise<string> {
    const mac = request.mac ? parseMac(request.mac) : null;
    if (!mac) {
      return this.message(request.applianceUrl, `goosed: ${request.mac ? `"${request.mac}" is not a MAC address` : "no MAC given"}; expected ${MAC_SPELLINGS} in ?mac=`);
    }
    const arch = request.arch && ARCH.test(request.arch) ? request.arch : null;
    const found = this.core.bootPath.lookup(mac) ?? (await this.core.bootPath.discover(mac, arch, request.source()));
    if (found.runId !== null) {
      const token = await this.core.bootPath.issueBootToken(found, mac, request.source);
      return chainScript(request.applianceUrl, found.runId, token);
    }
    await this.core.bootPath.touch(found, request.source);
    if (found.state === "retired") return this.message(request.applianceUrl, `goosed: ${mac} belongs to a retired machine; booting the local disk`);
    if (this.policyOf(found) === "menu") return this.menu(request.applianceUrl, found, mac);
    return this.local(request.applianceUrl);
  }

  /** Stage two: spends the boot token (refused when reused, expired, from another MAC, or its run ended). */
  installScript(token: string, mac: string | undefined, source: string | null, applianceUrl: string): string {
    const canonical = mac ? parseMac(mac) : null;
    const redeemed = this.core.bootPath.redeemBootToken(token, canonical, source);
    const { context, profile } = installContext(this.core, this.settings.globalVars, {
      machineId: redeemed.machineId,
      runId: redeemed.runId,
      token: redeemed.installerToken,
      applianceUrl,
    });
    return renderProfileTemplate(profile, "ipxe-install", context);
  }

  /** An install document for the installer holding `token`; the run moves to `installing` the first time. */
  installDocument(document: InstallDocument, token: string, source: string | null, applianceUrl: string, request: string): string {
    const { runId, machineId } = this.core.bootPath.authenticateInstaller(token, source, request);
    const { context, profile } = installContext(this.core, this.settings.globalVars, { machineId, runId, token, applianceUrl });
    const name = this.templateFor(document, profile.installKind);
    if (!name) {
      throw new AppError({
        code: "not-in-profile",
        status: 404,
        title: "Not part of this install",
        detail: `profile ${profile.name} installs with ${profile.installKind}; it has no ${document}`,
      });
    }
    return renderProfileTemplate(profile, name, context);
  }

  /** What a machine would be served by a profile, for an operator debugging a template; issues no token, changes nothing. */
  preview(profileRef: string, machineRef: string, name: TemplateName, applianceUrl: string): string {
    const profile = this.core.profiles.row(profileRef);
    const machineId = this.core.machines.resolveId(machineRef);
    const context = renderContext(this.core, this.settings.globalVars, { machineId, profile, run: { id: 0, vars: {} }, token: PREVIEW_TOKEN, applianceUrl });
    return renderProfileTemplate(profile, name, context);
  }

  /** The operator chose a profile at the console: start its run, then boot as any run would. */
  menuChoice(mac: string | undefined, profile: string, source: string | null, applianceUrl: string): string {
    const canonical = mac ? parseMac(mac) : null;
    const found = canonical ? this.core.bootPath.lookup(canonical) : null;
    if (!canonical || !found) return this.message(applianceUrl, "goosed: unknown machine; reboot to enroll it first");
    if (this.policyOf(found) !== "menu") return this.message(applianceUrl, "goosed: this machine's boot policy is not menu");
    if (found.runId === null) this.core.runs.provision(String(found.machineId), { profile }, { id: "console", source: source ?? undefined });
    return `#!ipxe\nchain --replace ${applianceUrl}/boot/boot.ipxe?mac=\${mac}&arch=\${buildarch}\n`;
  }

  private templateFor(document: InstallDocument, kind: InstallKind): TemplateName | null {
    const served = INSTALL_TEMPLATES[kind];
    if (document === "user-data") return served.includes("autoinstall") ? "autoinstall" : served.includes("cloud-init-user-data") ? "cloud-init-user-data" : null;
    const name = CLOUD_INIT_DOCUMENTS[document] ?? (document as TemplateName);
    return served.includes(name) ? name : null;
  }

  private policyOf(found: BootLookup): BootPolicy {
    return found.bootPolicy ?? (found.state === "discovered" ? this.settings.discoveryPolicy : "local");
  }

  /** The same for every machine that boots its disk, so rendered once per appliance URL rather than per request. */
  private local(applianceUrl: string): string {
    let script = this.localScripts.get(applianceUrl);
    if (script === undefined) {
      script = renderTemplate("ipxe-local", this.defaultSource("ipxe-local"), this.bareContext(applianceUrl, {}));
      this.localScripts.set(applianceUrl, script);
    }
    return script;
  }

  private menu(applianceUrl: string, found: BootLookup, mac: string): string {
    const entries = this.core.profiles.list().map((p, i) => ({
      key: String(i + 1),
      profile: p.name,
      label: p.description || p.name,
      url: `${applianceUrl}/boot/menu.ipxe?mac=${mac}&choice=${encodeURIComponent(p.name)}`,
    }));
    return renderTemplate("ipxe-menu", this.defaultSource("ipxe-menu"), { ...this.bareContext(applianceUrl, { machineId: found.machineId }), menu: { entries } });
  }

  private message(applianceUrl: string, message: string): string {
    return renderTemplate("ipxe-message", this.defaultSource("ipxe-message"), { ...this.bareContext(applianceUrl, {}), message });
  }

  private defaultSource(name: TemplateName): string {
    return templateSource({ templates: {}, cmdline: null, osFamily: "custom" }, name);
  }

  /** The context of scripts that install nothing: no profile, no run, no token. */
  private bareContext(applianceUrl: string, ids: { machineId?: number }): RenderContext {
    return {
      appliance_url: applianceUrl,
      token: "",
      machine: { id: ids.machineId ?? 0, hostname: "", serial: "", arch: "", mac: "", macs: [], ip: "", labels: {}, group: "" },
      profile: { name: "", os_family: "custom", kernel_url: "", initrd_urls: [], artifacts: {} },
      run: { id: 0 },
      urls: installUrls(applianceUrl, ""),
      cmdline: "",
      vars: this.settings.globalVars,
    };
  }
}

/** One of a profile's templates; the kernel command line is rendered first, because the iPXE script carries it. */
function renderProfileTemplate(profile: ProfileRow, name: TemplateName, context: RenderContext): string {
  context.cmdline = renderTemplate(`${profile.name}/cmdline`, templateSource(profile, "cmdline"), context).trim();
  return renderTemplate(`${profile.name}/${name}`, templateSource(profile, name), context);
}

/** Stage one: tiny, fixed, and rendered without a template engine because every PXE boot in a storm fetches it. */
export function chainScript(applianceUrl: string, runId: number, bootToken: string): string {
  return `#!ipxe
echo goosed: run ${runId}: fetching the install script
chain --replace ${applianceUrl}/boot/install.ipxe?mac=\${mac}&token=${bootToken} || goto refused
:refused
echo goosed refused or could not serve the install script; the goosed audit log says why
echo booting the local disk in 10 seconds
sleep 10
exit
`;
}
