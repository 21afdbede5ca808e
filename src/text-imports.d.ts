// Files imported `with { type: "text" }` arrive as strings; Bun embeds them in the compiled binary.
declare module "*.sql" {
  const text: string;
  export default text;
}

// Imported `with { type: "file" }`: a path Bun.file() can open, inside the compiled binary too.
declare module "swagger-ui-dist/*" {
  const path: string;
  export default path;
}
