// What a network-booting client is told to load next, from its option 93 / 60 / 77: a loader over TFTP, a loader
// over HTTP (UEFI HTTP boot), or, once it runs iPXE, goosed's boot script (which breaks the chainload loop).
import { ClientArch } from "./constants.ts";
import type { DhcpOptions } from "./codec.ts";

export type BootClass = "PXEClient" | "HTTPClient";

export type BootFile =
  | { kind: "script"; class: BootClass; url: string }
  | { kind: "tftp"; class: "PXEClient"; loader: string }
  | { kind: "http"; class: "HTTPClient"; loader: string; url: string };

export type NoBootFile = { kind: "none"; reason: "not-a-network-boot" | "no-loader-for-arch"; arch?: number };

export interface BootFileSettings {
  /** `<appliance>/boot/boot.ipxe?...` with iPXE's ${mac} and ${buildarch} left for iPXE to expand. */
  scriptUrl: string;
  /** `<appliance>/boot/loaders`, for UEFI HTTP boot. */
  loaderBaseUrl: string;
  uefiLoader: "ipxe.efi" | "snponly.efi";
  /** Whether goosed can serve a loader of that name right now (built in, or brought by a bundle). */
  available: { has(name: string): boolean };
}

const ARM64_LOADERS: Record<string, string> = { "ipxe.efi": "ipxe-arm64.efi", "snponly.efi": "snponly-arm64.efi" };

/** "PXEClient:Arch:00007:UNDI:003016" → 7; firmware that omits option 93 still says its architecture here. */
function archFromVendorClass(vendorClass: string): number | null {
  const match = /:Arch:(\d{5})/.exec(vendorClass);
  return match ? Number(match[1]) : null;
}

export function chooseBootFile(options: DhcpOptions, settings: BootFileSettings): BootFile | NoBootFile {
  const vendorClass = options.vendorClass ?? "";
  const bootClass: BootClass | null = vendorClass.startsWith("HTTPClient") ? "HTTPClient" : vendorClass.startsWith("PXEClient") ? "PXEClient" : null;
  const isIpxe = options.userClass?.includes("iPXE") === true || options.ipxe !== undefined;
  if (isIpxe) return { kind: "script", class: bootClass ?? "PXEClient", url: settings.scriptUrl };
  if (!bootClass) return { kind: "none", reason: "not-a-network-boot" };

  const arch = options.clientArch?.[0] ?? archFromVendorClass(vendorClass) ?? ClientArch.BiosX86;
  const pick = (loader: string) => (settings.available.has(loader) ? loader : null);
  let loader: string | null = null;
  switch (arch) {
    case ClientArch.BiosX86:
      loader = pick("undionly.kpxe");
      break;
    case ClientArch.EfiX64:
    case ClientArch.EfiBc:
    case ClientArch.EfiX64Http:
      loader = pick(settings.uefiLoader) ?? pick("ipxe.efi") ?? pick("snponly.efi");
      break;
    case ClientArch.EfiArm64:
    case ClientArch.EfiArm64Http:
      loader = pick(ARM64_LOADERS[settings.uefiLoader]!) ?? pick("ipxe-arm64.efi") ?? pick("snponly-arm64.efi");
      break;
  }
  if (!loader) return { kind: "none", reason: "no-loader-for-arch", arch };
  if (bootClass === "HTTPClient") return { kind: "http", class: "HTTPClient", loader, url: `${settings.loaderBaseUrl}/${loader}` };
  return { kind: "tftp", class: "PXEClient", loader };
}
