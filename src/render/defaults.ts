// The default templates goosed ships, embedded in the binary: what a profile renders unless it brings its own.
import autoinstall from "../../templates/autoinstall/autoinstall.yaml" with { type: "text" };
import cloudInitMetaData from "../../templates/cloud-init/meta-data.yaml" with { type: "text" };
import cloudInitUserData from "../../templates/cloud-init/user-data.yaml" with { type: "text" };
import cloudInitVendorData from "../../templates/cloud-init/vendor-data.yaml" with { type: "text" };
import cmdlineCustom from "../../templates/cmdline/custom.cmdline" with { type: "text" };
import cmdlineDebian from "../../templates/cmdline/debian.cmdline" with { type: "text" };
import cmdlineRhel from "../../templates/cmdline/rhel.cmdline" with { type: "text" };
import cmdlineUbuntu from "../../templates/cmdline/ubuntu.cmdline" with { type: "text" };
import cmdlineWindows from "../../templates/cmdline/windows.cmdline" with { type: "text" };
import ipxeInstall from "../../templates/ipxe/install.ipxe" with { type: "text" };
import ipxeLocal from "../../templates/ipxe/local.ipxe" with { type: "text" };
import ipxeMenu from "../../templates/ipxe/menu.ipxe" with { type: "text" };
import ipxeMessage from "../../templates/ipxe/message.ipxe" with { type: "text" };
import kickstart from "../../templates/kickstart/ks.cfg" with { type: "text" };
import preseed from "../../templates/preseed/preseed.cfg" with { type: "text" };
import unattend from "../../templates/unattend/unattend.xml" with { type: "text" };
import type { OsFamily, TemplateName } from "./context.ts";

const CMDLINES: Record<OsFamily, string> = {
  rhel: cmdlineRhel,
  debian: cmdlineDebian,
  ubuntu: cmdlineUbuntu,
  windows: cmdlineWindows,
  custom: cmdlineCustom,
};

const TEMPLATES: Record<Exclude<TemplateName, "cmdline">, string> = {
  "ipxe-install": ipxeInstall,
  "ipxe-local": ipxeLocal,
  "ipxe-menu": ipxeMenu,
  "ipxe-message": ipxeMessage,
  kickstart,
  preseed,
  autoinstall,
  "cloud-init-user-data": cloudInitUserData,
  "cloud-init-meta-data": cloudInitMetaData,
  "cloud-init-vendor-data": cloudInitVendorData,
  // bun-types declares every *.xml import a parsed XML Document; with type: "text" Bun hands over the source string.
  unattend: unattend as unknown as string,
};

/** The shipped source of a template. Only `cmdline` differs by OS family; without one it is the custom (empty) line. */
export function defaultTemplate(name: TemplateName, osFamily: OsFamily = "custom"): string {
  return name === "cmdline" ? CMDLINES[osFamily] : TEMPLATES[name];
}
