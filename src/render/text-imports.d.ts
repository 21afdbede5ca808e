// The default templates arrive as strings through `with { type: "text" }` imports; Bun embeds them in the compiled binary.
// Declared by exact path, not by extension, so no other folder's imports change type. The .yaml and .xml templates need
// no line here: bun-types already declares those extensions (see defaults.ts for the .xml one).
declare module "*/templates/ipxe/install.ipxe" {
  const text: string;
  export default text;
}
declare module "*/templates/ipxe/local.ipxe" {
  const text: string;
  export default text;
}
declare module "*/templates/ipxe/menu.ipxe" {
  const text: string;
  export default text;
}
declare module "*/templates/ipxe/message.ipxe" {
  const text: string;
  export default text;
}
declare module "*/templates/cmdline/rhel.cmdline" {
  const text: string;
  export default text;
}
declare module "*/templates/cmdline/debian.cmdline" {
  const text: string;
  export default text;
}
declare module "*/templates/cmdline/ubuntu.cmdline" {
  const text: string;
  export default text;
}
declare module "*/templates/cmdline/windows.cmdline" {
  const text: string;
  export default text;
}
declare module "*/templates/cmdline/custom.cmdline" {
  const text: string;
  export default text;
}
declare module "*/templates/kickstart/ks.cfg" {
  const text: string;
  export default text;
}
declare module "*/templates/preseed/preseed.cfg" {
  const text: string;
  export default text;
}
