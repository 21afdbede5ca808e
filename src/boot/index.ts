// boot: the boot decision (MAC + arch → install, menu or local disk) and what installers are served.
export { artifactUrl } from "./context.ts";
export { BootService, chainScript, type BootRequest, type BootSettings, type InstallDocument } from "./service.ts";
