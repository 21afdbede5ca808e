// The agent files imported `with { type: "text" }` by files.ts arrive as strings.
declare module "*/goosed-agent" {
  const text: string;
  export default text;
}
declare module "*.service" {
  const text: string;
  export default text;
}
declare module "*.timer" {
  const text: string;
  export default text;
}
declare module "*.ps1" {
  const text: string;
  export default text;
}
