// `goosed serve`: validate configuration once, start the appliance, stop cleanly on SIGTERM/SIGINT.
import type { CAC } from "cac";
import { type Config, ConfigError, describeSetting, flagName, type LoadedConfig, loadConfig, settingLeaves } from "../config/index.ts";
import { createLogger, type Logger } from "../lib/logger.ts";
import { UsageError } from "./usage.ts";

export interface ServeDeps {
  serve(config: LoadedConfig, log: Logger): Promise<{ stop(): Promise<void> }>;
}

function loggerFor(config: Readonly<Config>): Logger {
  const format = config.log.format === "auto" ? (process.stdout.isTTY ? "pretty" : "json") : config.log.format;
  return createLogger({ level: config.log.level, format });
}

export function registerServe(cli: CAC, deps: ServeDeps, env: Record<string, string | undefined>): void {
  const command = cli
    .command("serve", "Run the appliance: API, jobs and (once configured) DHCP and TFTP")
    .option("--config <file>", "YAML configuration file (default /etc/goosed/goosed.yaml when present)");
  for (const leaf of settingLeaves()) {
    const what = leaf.schema.description ? ` (${leaf.schema.description})` : "";
    command.option(`--${flagName(leaf.path)} <value>`, `${leaf.path.join(".")}: ${describeSetting(leaf.schema)}${what}`);
  }
  command.action(async (options: Record<string, unknown>) => {
    let loaded: LoadedConfig;
    try {
      const { config: configPath, ...flags } = options;
      loaded = loadConfig({ configPath: configPath as string | undefined, env, flags, cwd: process.cwd() });
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message, "serve");
      throw err;
    }
    const log = loggerFor(loaded.config);
    // Listen for signals before starting, so a SIGTERM that lands during start-up still gets a clean stop.
    const signalled = new Promise<NodeJS.Signals>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        resolve(signal);
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
    });
    // Settings that only the running system can judge (dhcp.interface's address) are checked at start, same report.
    const appliance = await deps.serve(loaded, log).catch((err) => {
      throw err instanceof ConfigError ? new UsageError(err.message, "serve") : err;
    });
    log.info("signal received", { component: "main", signal: await signalled });
    await appliance.stop();
  });
}
