// Files imported `with { type: "text" }` arrive as strings; Bun embeds them in the compiled binary.
declare module "*.sql" {
  const text: string;
  export default text;
}
