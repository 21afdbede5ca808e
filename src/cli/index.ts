// The goosed command line: one cac program, two-word commands (`token create`), one top-level catch.
import { cac } from "cac";
import { AppError } from "../lib/errors.ts";
import { type ApiClient, connect, localAppliance } from "./client.ts";
import { registerDhcp } from "./dhcp.ts";
import { registerGroups } from "./groups.ts";
import { registerJobs } from "./jobs.ts";
import { registerMachines } from "./machines.ts";
import { registerProfiles } from "./profiles.ts";
import { registerRuns } from "./runs.ts";
import { registerServe, type ServeDeps } from "./serve.ts";
import { registerStatus } from "./status.ts";
import { registerTokens } from "./tokens.ts";
import { registerObjects } from "./objects.ts";
import { registerKeys } from "./keys.ts";
import { registerBundles } from "./bundles.ts";
import { registerAppliance } from "./appliance.ts";
import { CliError, UsageError } from "./usage.ts";

export interface CliDeps extends ServeDeps {
  version: string;
}

const GROUPS = new Set(["token", "jobs", "machine", "profile", "run", "group", "lease", "dhcp", "artifact", "s3", "s3 key", "keys", "bundle", "appliance"]);

/** cac matches a command by its first word; joining `token create` (or `s3 key create`) into one argument lets it match more. */
function joinGroup(args: string[]): string[] {
  const [group, sub, ...rest] = args;
  if (group && GROUPS.has(group) && sub && !sub.startsWith("-")) return joinGroup([`${group} ${sub}`, ...rest]);
  return args;
}

export async function runCli(args: string[], deps: CliDeps, env: Record<string, string | undefined> = process.env): Promise<number> {
  const cli = cac("goosed");
  cli.option("--api <url>", "appliance API URL (env GOOSED_API; default the local appliance)");
  cli.option("--token <token>", "API token (env GOOSED_TOKEN; default <data-dir>/admin-token)");
  cli.option("--json", "print JSON for scripts instead of tables");
  cli.option("--debug", "show the causes behind an error");

  const client = (options: Record<string, unknown>): ApiClient => {
    // The client needs only where the appliance listens and where its data lives; a broken setting elsewhere
    // should not stop `goosed status` from telling the operator what is wrong.
    const { dataDir, httpPort } = localAppliance(env, { dataDir: "./goosed-data", httpHost: "0.0.0.0", httpPort: 8080 });
    return connect({ api: options.api as string | undefined, token: options.token as string | undefined }, { env, dataDir, httpPort });
  };

  registerServe(cli, deps, env);
  registerStatus(cli, client);
  registerTokens(cli, client);
  registerJobs(cli, client);
  registerMachines(cli, client);
  registerProfiles(cli, client);
  registerRuns(cli, client);
  registerDhcp(cli, client);
  registerGroups(cli, client);
  registerObjects(cli, client);
  registerKeys(cli, client);
  registerBundles(cli, client);
  registerAppliance(cli, { version: deps.version, env });
  cli.help();
  cli.version(deps.version);

  const joined = joinGroup(args);
  const debug = args.includes("--debug");
  try {
    cli.parse(["goosed", "goosed", ...joined], { run: false });
    keepAsText(cli.options, joined);
    if (cli.options.help || cli.options.version) return 0;
    if (!cli.matchedCommand) {
      const [first] = joined;
      if (first && GROUPS.has(first)) {
        cli.outputHelp();
        return 2;
      }
      throw new UsageError(first ? `unknown command ${first}` : "no command given", "");
    }
    await cli.runMatchedCommand();
    return 0;
  } catch (err) {
    return report(err, debug);
  }
}

/** Options whose values are text even when they look like numbers (cac's parser would read version 1.0 as 1). */
const TEXT_OPTIONS: Record<string, string> = { "--bundle-version": "bundleVersion" };

function keepAsText(options: Record<string, unknown>, args: string[]): void {
  for (const [flag, key] of Object.entries(TEXT_OPTIONS)) {
    args.forEach((arg, i) => {
      if (arg === flag && args[i + 1] !== undefined) options[key] = args[i + 1];
      else if (arg.startsWith(`${flag}=`)) options[key] = arg.slice(flag.length + 1);
    });
  }
}

function report(err: unknown, debug: boolean): number {
  const error = err as Error;
  if (error instanceof UsageError || error?.name === "CACError") {
    const command = error instanceof UsageError ? error.command : "";
    process.stderr.write(`goosed: ${error.message}\nsee goosed ${command ? `${command} ` : ""}--help\n`);
    return 2;
  }
  const expected = error instanceof CliError || error instanceof AppError;
  const line = expected ? error.message : `unexpected error: ${error?.message ?? String(err)}`;
  process.stderr.write(`goosed: ${line}\n`);
  if (debug) {
    for (let cause: unknown = error; cause; cause = (cause as Error).cause) process.stderr.write(`  ${(cause as Error).stack ?? cause}\n`);
  }
  return 1;
}
