// render: install templates (iPXE, kickstart, preseed, autoinstall, cloud-init, unattend) and the layered variables they read.
export {
  DEFAULT_INSTALL_KIND,
  INSTALL_KINDS,
  type InstallKind,
  OS_FAMILIES,
  type OsFamily,
  type RenderContext,
  type RenderMachine,
  type RenderMenuEntry,
  type RenderProfile,
  type RenderUrls,
  TEMPLATE_NAMES,
  type TemplateName,
} from "./context.ts";
export { defaultTemplate } from "./defaults.ts";
export { checkTemplates, renderTemplate } from "./engine.ts";
export { basename, ipxeSafe, oneLine, powershellQuote, shellQuote } from "./filters.ts";
export { type ContextOverrides, sampleContext } from "./sample.ts";
export { installUrls } from "./urls.ts";
export { GLOBAL_DEFAULT_VARS, layerVars } from "./vars.ts";
