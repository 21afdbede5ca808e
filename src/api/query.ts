// Query-string validation that reports every bad parameter at once (Elysia's own stops at the first).
import { type TObject, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { invalid } from "../lib/errors.ts";

/**
 * A field that takes one of a few words. Elysia's t.UnionEnum gives itself a default (its first value), which
 * Elysia then writes into bodies that left the field out; a union of literals has none.
 */
export const oneOf = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const pageParams = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: "page size (default 50)" })),
  before: Type.Optional(Type.Integer({ minimum: 1, description: "the `next` value of the previous page" })),
};

/** Query parameters arrive as text; integers are converted so the schema judges the value, not its spelling. */
export function parseQuery<T extends TObject>(schema: T, query: Record<string, string | undefined>): T["static"] {
  const value: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(query)) {
    if (raw === undefined) continue;
    const property = schema.properties[key] as TSchema | undefined;
    value[key] = property?.type === "integer" && /^-?\d+$/.test(raw) ? Number(raw) : raw;
  }
  const errors = [...Value.Errors(schema, value)].map((e) => ({ path: e.path, message: e.message }));
  if (errors.length > 0) throw invalid(`${errors.length} query parameter(s) rejected; see errors`, errors);
  return value as T["static"];
}

/** The same schema as OpenAPI parameters, so /docs still shows what a list endpoint accepts. */
export function queryDoc(schema: TObject) {
  return Object.entries(schema.properties).map(([name, property]) => {
    const { description, ...rest } = property as TSchema & { description?: string };
    return { name, in: "query" as const, required: !(schema.required ?? []).includes(name), description, schema: rest };
  });
}
