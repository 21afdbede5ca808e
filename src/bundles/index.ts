// Bundles: signed offline bundles, their format, the signers an appliance trusts, build, verify and import.
export { type TrustedKey, TrustStore } from "./trust.ts";
export { IMPORT_BUNDLE_JOB, importBundleJob } from "./import.ts";
export { sweepIncoming } from "./incoming.ts";
export { BundleWatcher, type FoundBundle } from "./watch.ts";
export { type ImportedBundle, listImportedBundles } from "./imported.ts";
