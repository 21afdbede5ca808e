// /v1/machines: inventory CRUD, bulk import, and starting or cancelling a machine's install run.
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { Elysia, t } from "elysia";
import type { Core, ImportRow, MachineInput } from "../core/index.ts";
import { BOOT_POLICIES, MACHINE_STATES } from "../db/index.ts";
import { type FieldError, invalid } from "../lib/errors.ts";
import { parseCsv } from "../lib/csv.ts";
import { actorOf } from "./auth.ts";
import { failureMessage, oneOf, pageParams, parseQuery, queryDoc } from "./query.ts";
import { machineView, runView } from "./views.ts";

const Interface = t.Object({ mac: t.String({ minLength: 1 }), ip: t.Optional(t.Nullable(t.String())) }, { additionalProperties: false });

const machineFields = {
  hostname: t.Optional(t.Nullable(t.String({ maxLength: 253 }))),
  serial: t.Optional(t.Nullable(t.String({ maxLength: 128 }))),
  arch: t.Optional(t.Nullable(t.String({ maxLength: 32 }))),
  labels: t.Optional(t.Record(t.String(), t.String())),
  group: t.Optional(t.Nullable(t.String())),
  profile: t.Optional(t.Nullable(t.String())),
  bootPolicy: t.Optional(t.Nullable(oneOf(BOOT_POLICIES))),
  vars: t.Optional(t.Record(t.String(), t.Unknown())),
  interfaces: t.Optional(t.Array(Interface, { maxItems: 16 })),
};

export const MachineBody = t.Object(machineFields, { additionalProperties: false });

const ListQuery = Type.Object(
  {
    ...pageParams,
    state: Type.Optional(Type.Union(MACHINE_STATES.map((s) => Type.Literal(s)))),
    group: Type.Optional(Type.String({ minLength: 1 })),
    label: Type.Optional(Type.String({ minLength: 1, description: "key or key=value" })),
  },
  { additionalProperties: false },
);

const CSV_COLUMNS = ["hostname", "mac", "ip", "serial", "arch", "group", "profile", "labels"] as const;

/** CSV rows: a header naming columns from CSV_COLUMNS, `mac` may hold several MACs separated by spaces or ';', labels are k=v;k=v. */
export function csvRows(text: string): ImportRow[] {
  const parsed = parseCsv(text);
  if (!parsed.ok) throw invalid("the CSV file does not parse; nothing was imported", [{ path: `line ${parsed.line}`, message: parsed.reason }]);
  const [header, ...records] = parsed.records;
  if (!header) throw invalid("the CSV file is empty; nothing was imported", [{ path: "line 1", message: `expected a header: ${CSV_COLUMNS.join(",")}` }]);
  const columns = header.fields.map((f) => f.trim().toLowerCase());
  const unknown = columns.filter((c) => !(CSV_COLUMNS as readonly string[]).includes(c));
  if (unknown.length > 0 || !columns.includes("mac")) {
    throw invalid("the CSV header is wrong; nothing was imported", [
      { path: `line ${header.line}`, message: `${unknown.length ? `unknown column(s) ${unknown.join(", ")}; ` : ""}columns are ${CSV_COLUMNS.join(", ")} and mac is required` },
    ]);
  }
  return records.map((record) => {
    const cell = (name: string) => record.fields[columns.indexOf(name)]?.trim() ?? "";
    const macs = cell("mac").split(/[\s;]+/).filter(Boolean);
    const labels = Object.fromEntries(
      cell("labels")
        .split(";")
        .filter(Boolean)
        .map((pair) => {
          const [k, ...v] = pair.split("=");
          return [k!.trim(), v.join("=").trim()];
        }),
    );
    const input: MachineInput = { interfaces: macs.map((mac, i) => ({ mac, ip: i === 0 && cell("ip") ? cell("ip") : null })), labels };
    for (const name of ["hostname", "serial", "arch", "group", "profile"] as const) if (cell(name)) input[name] = cell(name);
    const problems: FieldError[] = [];
    if (record.fields.length !== columns.length) problems.push({ path: "/", message: `row has ${record.fields.length} fields, the header ${columns.length}` });
    if (macs.length === 0) problems.push({ path: "/mac", message: "no MAC address" });
    return { where: `line ${record.line}`, input, problems };
  });
}

export const machinesRoutes = (core: Core) =>
  new Elysia({ prefix: "/v1/machines", tags: ["machines"] })
    .get(
      "",
      ({ query }) => {
        const q = parseQuery(ListQuery, query);
        const page = core.machines.list({ ...q, limit: q.limit ?? 50 });
        return { items: page.items.map(machineView), next: page.next };
      },
      { detail: { summary: "List machines, newest first", parameters: queryDoc(ListQuery) } },
    )
    .post(
      "",
      (ctx) => {
        const machine = core.machines.create(ctx.body, actorOf(ctx));
        ctx.set.status = 201;
        ctx.set.headers.location = `/v1/machines/${machine.id}`;
        return machineView(machine);
      },
      { body: MachineBody, detail: { summary: "Add a machine with its interfaces (MACs in any usual spelling)" } },
    )
    .post(
      "/import",
      (ctx) => {
        const { format, content, dryRun } = ctx.body;
        let rows: ImportRow[];
        if (format === "csv") rows = csvRows(content);
        else {
          let parsed: unknown;
          try {
            parsed = JSON.parse(content);
          } catch (err) {
            throw invalid("the JSON file does not parse; nothing was imported", [{ path: "/", message: (err as Error).message }]);
          }
          if (!Array.isArray(parsed)) throw invalid("the JSON file must hold an array of machines", [{ path: "/", message: "expected an array" }]);
          // Each item is checked as POST /v1/machines would check it; what does not fit is reported with the rest.
          rows = parsed.map((input, i) => ({
            where: `item ${i}`,
            input: Value.Check(MachineBody, input) ? (input as MachineInput) : {},
            problems: [...Value.Errors(MachineBody, input)].map((e) => ({ path: e.path || "/", message: failureMessage(e) })),
          }));
        }
        const result = core.machines.import(rows, { dryRun: dryRun ?? false }, actorOf(ctx));
        if (!dryRun) ctx.set.status = 201;
        return { dryRun: dryRun ?? false, rows: rows.length, created: result.created, machines: result.machines.map(machineView) };
      },
      {
        body: t.Object(
          { format: oneOf(["csv", "json"]), content: t.String(), dryRun: t.Optional(t.Boolean()) },
          { additionalProperties: false },
        ),
        detail: { summary: "Import machines from CSV or JSON: all rows or none, every bad row named" },
      },
    )
    .get("/:ref", ({ params }) => machineView(core.machines.get(params.ref)), { detail: { summary: "One machine, by id, hostname or MAC" } })
    .patch("/:ref", (ctx) => machineView(core.machines.update(ctx.params.ref, ctx.body, actorOf(ctx))), {
      body: MachineBody,
      detail: { summary: "Change a machine; interfaces, when given, replace the old list" },
    })
    .post("/:ref/retire", (ctx) => machineView(core.machines.retire(ctx.params.ref, actorOf(ctx))), {
      detail: { summary: "Retire a machine: it keeps its history, frees its MACs and boots nothing goosed offers" },
    })
    .post(
      "/:ref/provision",
      (ctx) => {
        const run = core.runs.provision(ctx.params.ref, ctx.body ?? {}, actorOf(ctx));
        ctx.set.status = 201;
        ctx.set.headers.location = `/v1/runs/${run.id}`;
        return runView(run);
      },
      {
        body: t.Optional(
          t.Object(
            {
              profile: t.Optional(t.String({ minLength: 1 })),
              vars: t.Optional(t.Record(t.String(), t.Unknown())),
              deadlineMinutes: t.Optional(t.Integer({ minimum: 1, maximum: 10_080 })),
            },
            { additionalProperties: false },
          ),
        ),
        detail: { summary: "Start an install run: the machine's profile, its group's, or the one named" },
      },
    )
    .post("/:ref/cancel", (ctx) => runView(core.runs.cancelForMachine(ctx.params.ref, actorOf(ctx))), {
      detail: { summary: "Cancel the machine's active run" },
    })
    .get(
      "/:ref/facts",
      ({ params }) => {
        const latest = core.machines.latestFacts(params.ref);
        return latest ? { at: new Date(latest.at).toISOString(), facts: latest.facts } : { at: null, facts: null };
      },
      { detail: { summary: "The newest facts the machine's agent posted" } },
    );
