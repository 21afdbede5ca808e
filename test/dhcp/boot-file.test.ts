// What each kind of network-booting client is told to load, from its options 93, 60 and 77 (and 175).
import { describe, expect, test } from "bun:test";
import { type BootFileSettings, chooseBootFile } from "../../src/dhcp/boot-file.ts";
import type { DhcpOptions } from "../../src/dhcp/codec.ts";

const SCRIPT = "http://10.0.0.1/boot/boot.ipxe?mac=${mac}&arch=${buildarch}";
const settings = (loaders: string[], uefiLoader: "ipxe.efi" | "snponly.efi" = "ipxe.efi"): BootFileSettings => ({
  scriptUrl: SCRIPT,
  loaderBaseUrl: "http://10.0.0.1/boot/loaders",
  uefiLoader,
  available: new Set(loaders),
});
const X86 = ["undionly.kpxe", "ipxe.efi", "snponly.efi"];

describe("chooseBootFile", () => {
  test.each<[string, DhcpOptions, BootFileSettings, ReturnType<typeof chooseBootFile>]>([
    ["legacy BIOS PXE", { vendorClass: "PXEClient:Arch:00000:UNDI:002001", clientArch: [0] }, settings(X86), { kind: "tftp", class: "PXEClient", loader: "undionly.kpxe" }],
    ["UEFI x64 PXE", { vendorClass: "PXEClient:Arch:00007:UNDI:003000", clientArch: [7] }, settings(X86), { kind: "tftp", class: "PXEClient", loader: "ipxe.efi" }],
    ["UEFI x64 PXE, snponly configured", { vendorClass: "PXEClient:Arch:00007:UNDI:003000", clientArch: [7] }, settings(X86, "snponly.efi"), { kind: "tftp", class: "PXEClient", loader: "snponly.efi" }],
    ["EFI BC (arch 9)", { vendorClass: "PXEClient:Arch:00009:UNDI:003000", clientArch: [9] }, settings(X86), { kind: "tftp", class: "PXEClient", loader: "ipxe.efi" }],
    ["arch only in the vendor class", { vendorClass: "PXEClient:Arch:00007:UNDI:003000" }, settings(X86), { kind: "tftp", class: "PXEClient", loader: "ipxe.efi" }],
    ["UEFI HTTP boot", { vendorClass: "HTTPClient:Arch:00016:UNDI:003001", clientArch: [16] }, settings(X86), { kind: "http", class: "HTTPClient", loader: "ipxe.efi", url: "http://10.0.0.1/boot/loaders/ipxe.efi" }],
    ["iPXE by user class", { vendorClass: "PXEClient:Arch:00000:UNDI:002001", userClass: ["iPXE"] }, settings(X86), { kind: "script", class: "PXEClient", url: SCRIPT }],
    ["iPXE by option 175 alone", { vendorClass: "PXEClient:Arch:00007:UNDI:003010", ipxe: new Uint8Array([19, 1, 1]) }, settings(X86), { kind: "script", class: "PXEClient", url: SCRIPT }],
    ["ARM64 UEFI without an arm64 loader", { vendorClass: "PXEClient:Arch:00011:UNDI:003000", clientArch: [11] }, settings(X86), { kind: "none", reason: "no-loader-for-arch", arch: 11 }],
    ["ARM64 UEFI once a bundle brought one", { vendorClass: "PXEClient:Arch:00011:UNDI:003000", clientArch: [11] }, settings([...X86, "ipxe-arm64.efi"]), { kind: "tftp", class: "PXEClient", loader: "ipxe-arm64.efi" }],
    ["BIOS PXE when the build had no loaders", { vendorClass: "PXEClient:Arch:00000:UNDI:002001", clientArch: [0] }, settings([]), { kind: "none", reason: "no-loader-for-arch", arch: 0 }],
    ["a plain DHCP client", { hostname: "laptop" }, settings(X86), { kind: "none", reason: "not-a-network-boot" }],
  ])("%s", (_name, options, given, expected) => {
    expect(chooseBootFile(options, given)).toEqual(expected);
  });
});
