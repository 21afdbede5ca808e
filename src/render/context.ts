// The names templates see: template names, install kinds, OS families and the render context other code fills.

export const TEMPLATE_NAMES = [
  "ipxe-install",
  "ipxe-local",
  "ipxe-menu",
  "ipxe-message",
  "cmdline",
  "kickstart",
  "preseed",
  "autoinstall",
  "cloud-init-user-data",
  "cloud-init-meta-data",
  "cloud-init-vendor-data",
  "unattend",
] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export const INSTALL_KINDS = ["kickstart", "preseed", "autoinstall", "cloud-init", "unattend", "none"] as const;
export type InstallKind = (typeof INSTALL_KINDS)[number];

export const OS_FAMILIES = ["rhel", "debian", "ubuntu", "windows", "custom"] as const;
export type OsFamily = (typeof OS_FAMILIES)[number];

/** How each OS family's default templates expect to install. */
export const DEFAULT_INSTALL_KIND: Readonly<Record<OsFamily, InstallKind>> = {
  rhel: "kickstart",
  debian: "preseed",
  ubuntu: "autoinstall",
  windows: "unattend",
  custom: "none",
};

export interface RenderMachine {
  id: number;
  hostname: string;
  /** Empty when unknown. */
  serial: string;
  /** iPXE ${buildarch} or what the operator recorded: x86_64, arm64, i386, ...; empty when unknown. */
  arch: string;
  /** The primary interface's MAC, lowercase with colons. */
  mac: string;
  macs: string[];
  /** Empty when unknown. */
  ip: string;
  labels: Record<string, string>;
  /** Empty when the machine is in no group. */
  group: string;
}

export interface RenderProfile {
  name: string;
  os_family: OsFamily;
  kernel_url: string;
  initrd_urls: string[];
  /** Artifact name → URL goosed serves it at. */
  artifacts: Record<string, string>;
}

export interface RenderUrls {
  /** `<appliance>/v1/render/<kind>?token=<token>` */
  kickstart: string;
  preseed: string;
  autoinstall: string;
  unattend: string;
  /** `<appliance>/cloud-init/<token>/`: the trailing slash matters, NoCloud appends `meta-data` and `user-data`. */
  cloud_init: string;
  /** `<appliance>/agents/linux`; the agent is `<agent_linux>/goosed-agent`. */
  agent_linux: string;
  /** `<appliance>/agents/windows`; the agent is `<agent_windows>/goosed-agent.ps1`. */
  agent_windows: string;
  /** `<appliance>/boot/boot.ipxe` */
  boot_script: string;
}

export interface RenderMenuEntry {
  key: string;
  profile: string;
  label: string;
  url: string;
}

/** Everything a template can read. Names are snake_case because operators write them in templates. */
export interface RenderContext {
  /** Base URL of the appliance, no trailing slash. */
  appliance_url: string;
  /** The run's installer token; empty in ipxe-local, ipxe-menu and ipxe-message. */
  token: string;
  machine: RenderMachine;
  profile: RenderProfile;
  run: { id: number };
  urls: RenderUrls;
  /** Layered variables; GLOBAL_DEFAULT_VARS always lies underneath them when rendering. */
  vars: Record<string, unknown>;
  /** The rendered kernel command line, for ipxe-install. */
  cmdline?: string;
  /** The text ipxe-message shows. */
  message?: string;
  /** The entries ipxe-menu offers. */
  menu?: { entries: RenderMenuEntry[] };
}
