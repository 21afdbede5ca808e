// Configuration: schema, defaults and the one loader; only this folder reads process.env.
export { ConfigSchema, type Config } from "./schema.ts";
export { ConfigError, loadConfig, settingLeaves, envName, flagName, describeSetting, SYSTEM_CONFIG_PATH } from "./load.ts";
export type { ConfigSources, LoadedConfig } from "./load.ts";
