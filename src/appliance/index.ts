// The appliance image's boot-time configuration and console screen: pure logic; src/cli/appliance.ts does the I/O.
export { APPLIANCE_KEYS, type ApplianceKey, type BootWord, mergeBootWords, parseBootWords, type WordSource } from "./boot-words.ts";
export { ARPHRD_ETHER, chooseInterface, type InterfaceChoice, type LinkInfo } from "./interface-choice.ts";
export { defaultAddress, defaultRange, formatRange, hostsOf, parseHostAddress, parseRangeIn } from "./addressing.ts";
export { APPLIANCE_DEFAULTS, ApplianceConfigError, type AppliancePlan, mergeSettings, type NetworkPlan, planAppliance, type PlanInput, requestedInterface } from "./plan.ts";
export { renderConfigYaml, renderNetworkFile } from "./render.ts";
export { type ConsoleFacts, IN_MEMORY_WARNING, renderConsoleScreen, statusUrls } from "./console-screen.ts";
