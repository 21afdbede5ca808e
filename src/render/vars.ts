// Template variables: the built-in global layer and how layers (global → group → profile → machine → run) merge.

/**
 * Every variable the default templates read, with the value an air-gapped lab gets when nobody sets it.
 * Templates test `{% if vars.x != "" %}` rather than reach for `default`: strict variables fail before a filter runs.
 */
export const GLOBAL_DEFAULT_VARS: Readonly<Record<string, unknown>> = deepFreeze({
  /** IANA zone for Linux installers. */
  timezone: "UTC",
  locale: "en_US.UTF-8",
  /** X keyboard layout / console keymap. */
  keyboard: "us",
  /** DNS domain appended to the hostname; empty: none. */
  domain: "",
  /** crypt(3) hash (`$6$...`, `$y$...`) for root; empty: root's password is locked and login is by SSH key. */
  root_password_hash: "",
  /** Public keys that may log in as root on the installed system. */
  ssh_authorized_keys: [],
  /** Packages installed on top of the installer's minimal set (curl always comes with them: the agent needs it). */
  packages: [],
  /** Disk to install on, as a /dev path (`/dev/sda`, `/dev/disk/by-path/...`); empty: the first non-removable disk. */
  install_disk: "",
  /** RHEL-family package repository; empty: the installer's own media (`inst.repo` / `inst.stage2`). */
  repo_url: "",
  /** Debian/Ubuntu archive mirror host (`10.0.0.1:8080`); empty: no mirror is preseeded (use the installer's media). */
  mirror_host: "",
  mirror_directory: "/debian",
  /** NTP servers for the installed system; empty: the distribution's default. */
  ntp_servers: [],
  /** Proxy for package downloads; empty: none (air-gapped labs usually have none). */
  http_proxy: "",
  /** Extra kernel arguments (`console=ttyS0,115200n8`) appended to every default command line. */
  kernel_args: "",
  /** Windows: the local Administrator's password (unattend.xml carries it in plain text, as Setup requires). */
  admin_password: "",
  /** Windows: product key; empty: none (evaluation and volume media need none). */
  windows_product_key: "",
  /** Windows: the image index in install.wim (`dism /Get-WimInfo`). */
  windows_image_index: 1,
  /** Windows: locale name for Setup and the installed system. */
  windows_locale: "en-US",
  /** Windows: time zone ID (`tzutil /l`), which is not the IANA name Linux uses. */
  windows_timezone: "UTC",
});

/**
 * Merges variable layers; a later layer wins. Plain objects merge key by key, arrays and everything else replace.
 * Inputs are never modified, and null or missing layers are skipped.
 */
export function layerVars(...layers: Array<Record<string, unknown> | null | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) if (layer) mergeInto(out, layer);
  return out;
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const current = Object.hasOwn(target, key) ? target[key] : undefined;
    const merged = isPlainObject(value)
      ? layerVars(isPlainObject(current) ? current : undefined, value)
      : Array.isArray(value)
        ? [...value]
        : value;
    // defineProperty, not assignment: a key named `__proto__` (JSON can carry one) stays plain data.
    Object.defineProperty(target, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
