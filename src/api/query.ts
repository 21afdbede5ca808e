// Query-string validation that reports every bad parameter at once (Elysia's own stops at the first).
import { type TObject, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { invalid } from "../lib/errors.ts";

/**
 * A field that takes one of a few words. Elysia's t.UnionEnum gives itself a default (its first value), which
 * Elysia then writes into bodies that left the field out; a union of literals has none.
 */
export const oneOf = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** What schema validation reports about one field (TypeBox's ValueError, as Elysia passes it on). */
export interface ValueFailure {
  path: string;
  message: string;
  summary?: string;
  schema?: TSchema;
}

/** The words a union of literals allows, with `null` when it is nullable; empty for any other schema. */
function wordsOf(schema: TSchema | undefined): unknown[] {
  if (!schema) return [];
  if (schema.const !== undefined) return [schema.const];
  if (schema.type === "null") return [null];
  return ((schema.anyOf as TSchema[] | undefined) ?? []).flatMap(wordsOf);
}

/** A field limited to a few words says which; TypeBox's own summary names only their type. */
export function failureMessage(failure: ValueFailure): string {
  const words = wordsOf(failure.schema);
  if (words.some((w) => typeof w === "string")) return `expected one of ${words.map((w) => (w === null ? "null" : String(w))).join(", ")}`;
  return failure.summary ?? failure.message;
}

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
  const errors = [...Value.Errors(schema, value)].map((e) => ({ path: e.path, message: failureMessage(e) }));
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
