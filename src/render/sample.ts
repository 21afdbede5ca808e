// Realistic sample contexts: a profile's templates are rendered with one before the profile is saved.
import type { OsFamily, RenderContext, RenderProfile } from "./context.ts";
import { defaultTemplate } from "./defaults.ts";
import { renderTemplate } from "./engine.ts";
import { installUrls } from "./urls.ts";
import { GLOBAL_DEFAULT_VARS, layerVars } from "./vars.ts";

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
export type ContextOverrides = DeepPartial<RenderContext>;

// What each family's bundles typically carry; names are what the default templates look for.
const SAMPLE_FILES: Record<OsFamily, { name: string; kernel: string; initrds: string[]; extra: string[] }> = {
  rhel: { name: "rocky9", kernel: "vmlinuz", initrds: ["initrd.img"], extra: [] },
  debian: { name: "debian12", kernel: "linux", initrds: ["initrd.gz"], extra: [] },
  ubuntu: { name: "ubuntu2404", kernel: "vmlinuz", initrds: ["initrd"], extra: ["ubuntu-24.04-live-server-amd64.iso"] },
  windows: { name: "win2022", kernel: "wimboot", initrds: [], extra: ["bootmgr.efi", "BCD", "boot.sdi", "boot.wim"] },
  custom: { name: "rescue", kernel: "vmlinuz", initrds: ["initrd.img"], extra: [] },
};

function sampleProfile(applianceUrl: string, family: OsFamily): RenderProfile {
  const files = SAMPLE_FILES[family];
  const url = (file: string) => `${applianceUrl}/artifacts/${files.name}/${file}`;
  return {
    name: files.name,
    os_family: family,
    kernel_url: url(files.kernel),
    initrd_urls: files.initrds.map(url),
    artifacts: Object.fromEntries([files.kernel, ...files.initrds, ...files.extra].map((file) => [file, url(file)])),
  };
}


/**
 * A context with realistic values for every name a template may read (cmdline, message and menu included), for the
 * OS family in `overrides.profile.os_family` (rhel when absent). Overrides merge in like variable layers.
 */
export function sampleContext(overrides: ContextOverrides = {}): RenderContext {
  const applianceUrl = overrides.appliance_url ?? "http://10.0.0.1:8080";
  const token = overrides.token ?? "gi_q7Yx2mK9vR4tLw8nB3cF6hJ1pZ5sD0aE";
  const family = overrides.profile?.os_family ?? "rhel";
  const base: RenderContext = {
    appliance_url: applianceUrl,
    token,
    machine: {
      id: 12,
      hostname: "node01",
      serial: "ABC123",
      arch: "x86_64",
      mac: "52:54:00:12:34:56",
      macs: ["52:54:00:12:34:56", "52:54:00:12:34:57"],
      ip: "10.0.0.21",
      labels: { rack: "r1" },
      group: "compute",
    },
    profile: sampleProfile(applianceUrl, family),
    run: { id: 7 },
    urls: installUrls(applianceUrl, token),
    vars: layerVars(GLOBAL_DEFAULT_VARS, {
      ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHf3t0bKq2r8nQe5m1Yc7p9LwzA4sD6gJ2hV8xUo0Kk ops@lab"],
      packages: ["tmux"],
      ntp_servers: ["10.0.0.1"],
    }),
    message: "goosed: sample message; booting the local disk",
    menu: {
      entries: [
        { key: "1", profile: "rocky9", label: "Rocky Linux 9", url: `${applianceUrl}/boot/menu.ipxe?mac=52:54:00:12:34:56&choice=rocky9` },
        { key: "2", profile: "debian12", label: "Debian 12", url: `${applianceUrl}/boot/menu.ipxe?mac=52:54:00:12:34:56&choice=debian12` },
      ],
    },
  };
  const context = layerVars(base as unknown as Record<string, unknown>, overrides as Record<string, unknown>) as unknown as RenderContext;
  if (typeof overrides.cmdline !== "string") {
    context.cmdline = renderTemplate("sample/cmdline", defaultTemplate("cmdline", context.profile.os_family), context).trim();
  }
  return context;
}

