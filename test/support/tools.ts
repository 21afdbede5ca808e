// External tools the tests drive. A missing tool fails the test loudly; CI installs every one of them.
import { which } from "bun";

/** The tool's path; throws (never skips) with the Debian package to install when it is missing. */
export function requireTool(name: string, debianPackage = DEBIAN_PACKAGES[name] ?? name): string {
  const path = which(name);
  if (!path) throw new Error(`${name} is not installed; install it with: apt-get install ${debianPackage} (.ci/run does)`);
  return path;
}

const DEBIAN_PACKAGES: Record<string, string> = {
  promtool: "prometheus",
  sqlite3: "sqlite3",
  "cloud-init": "cloud-init",
  xmllint: "libxml2-utils",
};
