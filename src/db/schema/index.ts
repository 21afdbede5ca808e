// The whole schema, one module per domain; drizzle-kit generates migrations from this.
export * from "./tokens.ts";
export * from "./audit.ts";
export * from "./events.ts";
export * from "./jobs.ts";
export * from "./profiles.ts";
export * from "./machines.ts";
export * from "./runs.ts";
export * from "./machine-tokens.ts";
export * from "./leases.ts";
export * from "./objects.ts";
export * from "./bundles.ts";
