import { describe, expect, test } from "bun:test";
import { AppError } from "../../src/lib/errors.ts";
import {
  checkTemplates,
  GLOBAL_DEFAULT_VARS,
  ipxeSafe,
  layerVars,
  renderTemplate,
  sampleContext,
  shellQuote,
} from "../../src/render/index.ts";

const context = sampleContext();

function renderError(name: string, source: string): AppError {
  try {
    renderTemplate(name, source, context);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error(`${name} rendered, but should have failed`);
}

describe("errors name the template, the line and the problem", () => {
  test("an undefined variable", () => {
    const error = renderError("kickstart", "text\nlang en_US\n    {{ vars.ntp_server }}\n");
    const { code, status, title, detail, errors } = error;
    expect({ code, status, title, detail, errors }).toEqual({
      code: "template-render-failed",
      status: 422,
      title: "Template does not render",
      detail: "kickstart line 3: undefined variable: vars.ntp_server",
      errors: [{ path: "/templates/kickstart", message: "line 3, col 8: undefined variable: vars.ntp_server" }],
    });
  });

  test("a profile-qualified name keeps the template name in the path", () => {
    const error = renderError("rocky9/kickstart", "{{ machine.nickname }}");
    expect(error.detail).toBe("rocky9/kickstart line 1: undefined variable: machine.nickname");
    expect(error.errors).toEqual([{ path: "/templates/kickstart", message: "line 1, col 4: undefined variable: machine.nickname" }]);
  });

  test.each([
    ["an unclosed tag", "one\ntwo\n{% if vars.timezone %}\n", "preseed line 3: tag {% if vars.timezone %} not closed"],
    ["an unknown filter", "{{ token }}\n{{ token | exec }}", "preseed line 2: undefined filter: exec"],
    ["an unknown tag", "\n\n\n{% shell 'id' %}", "preseed line 4: tag \"shell\" not found"],
    ["an unclosed output", "a\n{{ token", "preseed line 2: output \"{{ token\" not closed"],
  ])("a syntax error: %s", (_name, source, detail) => {
    expect(renderError("preseed", source).detail).toBe(detail);
  });

  test("an error inside a loop still points at its own line", () => {
    const error = renderError("cloud-init-user-data", "packages:\n{% for p in vars.packages %}\n  - {{ p.version }}\n{% endfor %}");
    expect(error.errors?.[0]?.message).toStartWith("line 3, col ");
    expect(error.detail).toBe("cloud-init-user-data line 3: undefined variable: p.version");
  });
});

describe("a template cannot reach outside its context", () => {
  test.each([
    ["include", '{% include "/etc/passwd" %}'],
    ["include, relative", '{% include "../../../../etc/passwd" %}'],
    ["render", '{% render "/etc/passwd" %}'],
    ["layout", '{% layout "/etc/passwd" %}'],
    ["include inside liquid", '{% liquid\ninclude "/etc/passwd"\n%}'],
  ])("no files: %s", (_name, source) => {
    const error = renderError("kickstart", source);
    expect(error.detail).toMatch(/^kickstart line \d+: \{% (include|render|layout) %\} is not available: a goosed template cannot load other templates or files$/);
  });

  test.each([
    ["constructor", "{{ vars.constructor }}"],
    ["constructor's constructor", "{{ vars.constructor.constructor }}"],
    ["__proto__", '{{ machine["__proto__"] }}'],
    ["a string's constructor", "{{ token.constructor }}"],
    ["toString", "{{ machine.toString }}"],
    ["a global", "{{ process.env }}"],
    ["globalThis", "{{ globalThis }}"],
  ])("no prototypes or globals: %s", (_name, source) => {
    expect(renderError("t", source).detail).toStartWith("t line 1: undefined variable: ");
  });

  test("filters that walk properties find no prototype either", () => {
    expect(renderTemplate("t", '[{{ machine.macs | map: "constructor" | join: "," }}]', context)).toBe("[,]");
    expect(renderError("t", '{{ vars.packages | where: "constructor" | size }}').detail).toBe("t line 1: undefined variable: constructor");
  });

  test("a runaway loop stops at the memory limit instead of taking the appliance down", () => {
    expect(renderError("t", "{% for i in (1..100000000) %}{% endfor %}").detail).toBe("t line 1: memory alloc limit exceeded");
  });

  test("a slow template stops at the time limit", () => {
    const source = "{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..1000) %}{% endfor %}{% endfor %}{% endfor %}";
    expect(renderError("t", source).detail).toBe("t line 1: template render limit exceeded");
  });
});

describe("rendering", () => {
  test("is synchronous and returns the same text from the parse cache", () => {
    const source = "{{ machine.hostname }} {{ run.id }}";
    const first = renderTemplate("t", source, context);
    expect(first).toBe("node01 7");
    expect(renderTemplate("t", source, { ...context, run: { id: 8 } })).toBe("node01 8");
  });

  test("GLOBAL_DEFAULT_VARS lies under whatever vars the caller brings", () => {
    expect(renderTemplate("t", "{{ vars.timezone }} {{ vars.keyboard }} {{ vars.extra }}", { ...context, vars: { keyboard: "de", extra: "x" } })).toBe("UTC de x");
  });

  test("an empty string is true in Liquid, so templates compare with \"\"", () => {
    const source = '{% if vars.domain %}truthy{% endif %} {% if vars.domain != "" %}set{% else %}unset{% endif %}';
    expect(renderTemplate("t", source, { ...context, vars: { domain: "" } })).toBe("truthy unset");
  });
});

describe("layerVars", () => {
  const global = { timezone: "UTC", packages: ["curl"], disk: { size: "max", scheme: "lvm" }, ntp_servers: ["10.0.0.1"] };
  const group = { timezone: "Europe/Berlin", disk: { scheme: "plain" }, rack: "r1" };
  const profile = { packages: ["vim", "tmux"], disk: { device: "/dev/sda" } };
  const machine = { disk: { device: "/dev/nvme0n1" }, ntp_servers: [] };
  const run = { timezone: "Asia/Tokyo" };

  test("global → group → profile → machine → run: later layers win, objects merge key by key, arrays replace", () => {
    expect(layerVars(global, group, profile, machine, run)).toEqual({
      timezone: "Asia/Tokyo",
      packages: ["vim", "tmux"],
      disk: { size: "max", scheme: "plain", device: "/dev/nvme0n1" },
      ntp_servers: [],
      rack: "r1",
    });
  });

  test("missing layers are skipped and no input changes", () => {
    const before = structuredClone({ global, group, profile, machine, run });
    const merged = layerVars(null, global, undefined, group, profile, machine, run);
    expect({ global, group, profile, machine, run }).toEqual(before);
    (merged.disk as Record<string, unknown>).size = "changed";
    (merged.packages as string[]).push("changed");
    expect({ global, group, profile, machine, run }).toEqual(before);
  });

  test("a __proto__ key from JSON stays data and pollutes nothing", () => {
    const merged = layerVars({ a: 1 }, JSON.parse('{"__proto__": {"polluted": true}, "b": 2}'));
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(merged)).toEqual(["a", "__proto__", "b"]);
    expect(renderTemplate("t", "{{ vars.b }}", { ...context, vars: merged })).toBe("2");
  });

  test("GLOBAL_DEFAULT_VARS is frozen: a layer over it is a copy", () => {
    expect(Object.isFrozen(GLOBAL_DEFAULT_VARS)).toBe(true);
    expect(Object.isFrozen(GLOBAL_DEFAULT_VARS.packages)).toBe(true);
    const merged = layerVars(GLOBAL_DEFAULT_VARS, { timezone: "Europe/Paris" });
    expect(merged.timezone).toBe("Europe/Paris");
    expect(GLOBAL_DEFAULT_VARS.timezone).toBe("UTC");
    expect(Object.isFrozen(merged.packages)).toBe(false);
  });
});

describe("checkTemplates", () => {
  test("reports every failing template, not just the first", () => {
    const errors = checkTemplates(
      [
        { name: "kickstart", source: "text\n{{ vars.nope }}" },
        { name: "cmdline", source: "inst.ks={{ urls.kickstart }}" },
        { name: "preseed", source: "{% if x %}" },
        { name: "ipxe-local", source: "echo missing magic\nexit" },
        { name: "kickstrat", source: "text" },
      ],
      context,
    );
    expect(errors).toEqual([
      { path: "/templates/kickstart", message: "line 2, col 4: undefined variable: vars.nope" },
      { path: "/templates/preseed", message: "line 1, col 1: tag {% if x %} not closed" },
      { path: "/templates/ipxe-local", message: "line 1: an iPXE script must start with #!ipxe" },
      { path: "/templates/kickstrat", message: expect.stringMatching(/^unknown template; expected one of ipxe-install, /) },
    ]);
  });

  test("no errors for templates that render", () => {
    expect(checkTemplates([{ name: "cmdline", source: "ip=dhcp" }], context)).toEqual([]);
  });
});

describe("shell_quote", () => {
  test.each([
    ["plain", "node01", "'node01'"],
    ["empty", "", "''"],
    ["a single quote", "it's", "'it'\\''s'"],
    ["command substitution", "$(reboot)", "'$(reboot)'"],
    ["backticks and variables", "`id` $HOME ${PATH}", "'`id` $HOME ${PATH}'"],
    ["a newline", "a\nb", "'a\nb'"],
    ["separators and globs", "a; b && c | d > e *", "'a; b && c | d > e *'"],
    ["only quotes", "''", "''\\'''\\'''"],
    ["a number", 42, "'42'"],
  ])("%s", (_name, value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });

  test("arrays quote each item into separate words", () => {
    expect(shellQuote(["a b", "it's"])).toBe("'a b' 'it'\\''s'");
    expect(shellQuote([])).toBe("");
  });

  test("a NUL byte is refused, naming the filter", () => {
    let error: unknown;
    try {
      renderTemplate("t", "echo {{ vars.x | shell_quote }}", { ...context, vars: { x: "a\0b" } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).detail).toBe("t line 1: shell_quote: a value holds a NUL byte, which no shell argument can carry");
  });

  test.each([["it's"], ["$(reboot)"], ["`id`; rm -rf / #"], ["a\nb\tc"], ["\\'\"\\"], ["ünïcödé ✓"]])("sh reads %j back as one word", (value) => {
    const result = Bun.spawnSync(["sh", "-c", `printf '%s|' ${shellQuote(value)}`]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toBe(`${value}|`);
  });

  test("through a template", () => {
    expect(renderTemplate("t", "echo {{ vars.x | shell_quote }}", { ...context, vars: { x: "it's $(id)" } })).toBe("echo 'it'\\''s $(id)'");
  });
});

describe("ipxe_safe", () => {
  test.each([
    ["plain words", "goosed: rocky9 on node01", "goosed: rocky9 on node01"],
    ["a newline would start a new command", "a\nchain http://evil/x", "a chain http://evil/x"],
    ["a lone ; would start a new command", "x ; chain http://evil/x", 'x ";" chain http://evil/x'],
    ["|| and &&", "a || b && c", 'a "||" b "&&" c'],
    ["# would start a comment", "a #rest", 'a "#rest"'],
    ["; inside a word is harmless", "ds=nocloud-net;s=http://a/", "ds=nocloud-net;s=http://a/"],
    ["a trailing backslash would join the next line", "a\\", "a\\ "],
    ["control characters", "a\r\n\tb\u0000c", "a b c"],
  ])("%s", (_name, value, safe) => {
    expect(ipxeSafe(value)).toBe(safe);
  });
});
