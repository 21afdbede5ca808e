// Where goosed serves an install's documents and agent files: the one place these paths are spelled for templates.
import type { RenderUrls } from "./context.ts";

/** The URLs an install's templates point its installer and agent at; `token` is the run's installer token. */
export function installUrls(applianceUrl: string, token: string): RenderUrls {
  const render = (kind: string) => `${applianceUrl}/v1/render/${kind}?token=${token}`;
  return {
    kickstart: render("kickstart"),
    preseed: render("preseed"),
    autoinstall: render("autoinstall"),
    unattend: render("unattend"),
    cloud_init: `${applianceUrl}/cloud-init/${token}/`,
    agent_linux: `${applianceUrl}/agents/linux`,
    agent_windows: `${applianceUrl}/agents/windows`,
    boot_script: `${applianceUrl}/boot/boot.ipxe`,
  };
}
