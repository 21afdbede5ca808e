// The console status screen as a pure function of what `goosed appliance console` gathered.
import { describe, expect, test } from "bun:test";
import { type ConsoleFacts, renderConsoleScreen, statusUrls } from "../../src/appliance/index.ts";

const facts: ConsoleFacts = {
  version: "1.2.3",
  interfaces: [
    { name: "enp3s0", addresses: ["10.74.0.1/24", "10.75.0.1/24"] },
    { name: "enp4s0", addresses: [] },
  ],
  httpHost: "0.0.0.0",
  httpPort: 80,
  dataDir: "/var/lib/goosed",
  inMemory: false,
  readyUrl: "http://127.0.0.1:80/readyz",
  ready: {
    services: {
      database: { ok: true, detail: "/var/lib/goosed/goosed.db (WAL)" },
      dhcp: { ok: false, detail: "not listening" },
    },
  },
};

describe("renderConsoleScreen", () => {
  test("golden: addresses, status page, token, services", () => {
    expect(renderConsoleScreen(facts)).toBe(
      [
        "goosed 1.2.3 provisioning appliance",
        "",
        "enp3s0    10.74.0.1/24, 10.75.0.1/24",
        "enp4s0    no IPv4 address",
        "",
        "status page   http://10.74.0.1/",
        "              http://10.75.0.1/",
        "admin token   /var/lib/goosed/admin-token (cat it here, or log in on the status page with it)",
        "",
        "database  up    /var/lib/goosed/goosed.db (WAL)",
        "dhcp      DOWN  not listening",
        "",
      ].join("\n"),
    );
  });

  test("golden: state in memory, goosed not answering, no address yet", () => {
    const screen = renderConsoleScreen({
      ...facts,
      interfaces: [{ name: "eth0", addresses: [] }],
      httpPort: 8080,
      inMemory: true,
      readyUrl: "http://127.0.0.1:8080/readyz",
      ready: { error: "Unable to connect" },
    });
    expect(screen).toBe(
      [
        "goosed 1.2.3 provisioning appliance",
        "",
        "eth0      no IPv4 address",
        "",
        "status page   no address yet (waiting for the network)",
        "admin token   /var/lib/goosed/admin-token (cat it here, or log in on the status page with it)",
        "",
        "!!! STATE IS IN MEMORY: everything is lost at power-off. Add a partition labelled GOOSED-DATA. !!!",
        "",
        "goosed is not answering yet at http://127.0.0.1:8080/readyz (Unable to connect)",
        "",
      ].join("\n"),
    );
  });

  test("status URLs: every address when listening on all, the port unless 80, only the host when bound to one", () => {
    const interfaces = [
      { name: "eth0", addresses: ["10.0.0.1/24", "10.0.1.1/24"] },
      { name: "eth1", addresses: ["192.168.1.5/24"] },
    ];
    expect(statusUrls({ interfaces, httpHost: "0.0.0.0", httpPort: 8080 })).toEqual(["http://10.0.0.1:8080/", "http://10.0.1.1:8080/", "http://192.168.1.5:8080/"]);
    expect(statusUrls({ interfaces, httpHost: "10.0.0.1", httpPort: 80 })).toEqual(["http://10.0.0.1/"]);
  });
});
