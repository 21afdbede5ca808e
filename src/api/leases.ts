// /v1/leases: the DHCP leases goosed handed out; /v1/dhcp/dnsmasq.conf: the same service as a dnsmasq configuration.
import { Type } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { Config } from "../config/index.ts";
import type { Core, LeaseRecord } from "../core/index.ts";
import { renderDnsmasqConfig } from "../dhcp/dnsmasq.ts";
import { AppError } from "../lib/errors.ts";
import { parseIpv4 } from "../lib/ipv4.ts";
import { parseMac } from "../lib/mac.ts";
import { parseQuery, queryDoc } from "./query.ts";
import { iso } from "./views.ts";

const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: "page size (default 100)" })),
    after: Type.Optional(Type.String({ description: "the `next` value of the previous page (an address)" })),
    active: Type.Optional(Type.Union([Type.Literal("true"), Type.Literal("false")], { description: "only leases bound right now" })),
    mac: Type.Optional(Type.String({ description: "only this MAC's leases" })),
  },
  { additionalProperties: false },
);

const ExportQuery = Type.Object(
  {
    mode: Type.Optional(Type.Union([Type.Literal("full"), Type.Literal("proxy")], { description: "default: goosed's dhcp.mode, else full" })),
    interface: Type.Optional(Type.String({ minLength: 1, description: "dnsmasq's interface (default: dhcp.interface)" })),
    range: Type.Optional(Type.String({ description: "full mode pool FIRST-LAST (default: dhcp.range)" })),
    network: Type.Optional(Type.String({ description: "proxy mode: the lab network's address, e.g. 10.0.0.0" })),
    netmask: Type.Optional(Type.String()),
    router: Type.Optional(Type.String()),
    dns: Type.Optional(Type.String({ description: "comma-separated" })),
    domain: Type.Optional(Type.String()),
    server: Type.Optional(Type.String({ description: "goosed's address on the provisioning network (default: the address this request reached)" })),
  },
  { additionalProperties: false },
);

const leaseView = (lease: LeaseRecord) => ({ ...lease, startsAt: iso(lease.startsAt), expiresAt: iso(lease.expiresAt) });

const badExport = (detail: string) => new AppError({ code: "export-incomplete", status: 422, title: "Cannot export the dnsmasq configuration", detail });

export const leasesRoutes = (core: Core, config: Readonly<Config>) =>
  new Elysia({ tags: ["dhcp"] })
    .get(
      "/v1/leases",
      ({ query }) => {
        const q = parseQuery(ListQuery, query);
        const mac = q.mac === undefined ? undefined : parseMac(q.mac);
        if (mac === null) throw new AppError({ code: "validation-failed", status: 422, title: "Validation failed", detail: `mac: "${q.mac}" is not a MAC address` });
        if (q.after !== undefined && !parseIpv4(q.after)) throw new AppError({ code: "validation-failed", status: 422, title: "Validation failed", detail: `after: "${q.after}" is not an IPv4 address` });
        const page = core.leases.list({ active: q.active === "true", mac, after: q.after, limit: q.limit ?? 100 });
        return { items: page.items.map(leaseView), next: page.next };
      },
      { detail: { summary: "DHCP leases by address; ?active=true for the ones bound now", parameters: queryDoc(ListQuery) } },
    )
    .get(
      "/v1/dhcp/dnsmasq.conf",
      ({ query, request, set }) => {
        const q = parseQuery(ExportQuery, query);
        const mode = q.mode ?? (config.dhcp.mode === "proxy" ? "proxy" : "full");
        const iface = q.interface ?? config.dhcp.interface;
        if (!iface) throw badExport("name dnsmasq's interface: ?interface=eth1 (goosed export-dnsmasq --interface eth1)");
        const range = q.range ?? config.dhcp.range;
        if (mode === "full" && !range) throw badExport("full mode needs the address pool: ?range=FIRST-LAST (--range)");
        if (mode === "proxy" && !q.network) throw badExport("proxy mode needs the lab network's address: ?network=10.0.0.0 (--network)");
        const applianceUrl = config.boot.publicUrl.replace(/\/+$/, "") || new URL(request.url).origin;
        const server = q.server ?? new URL(applianceUrl).hostname;
        if (!parseIpv4(server)) throw badExport(`goosed's TFTP address must be an IPv4 address, got ${server}; pass ?server= (--server)`);
        set.headers["content-type"] = "text/plain; charset=utf-8";
        return renderDnsmasqConfig({
          mode,
          interface: iface,
          range,
          network: q.network,
          netmask: q.netmask,
          router: q.router ?? (config.dhcp.router || undefined),
          dns: q.dns !== undefined ? q.dns.split(",").filter(Boolean) : config.dhcp.dns,
          domain: q.domain ?? (config.dhcp.domain || undefined),
          leaseSeconds: config.dhcp.leaseSeconds,
          tftpServer: server,
          scriptUrl: `${applianceUrl}/boot/boot.ipxe?mac=\${mac}&arch=\${buildarch}`,
          uefiLoader: config.dhcp.uefiLoader,
          reservations: core.reservations.all(),
          generatedAt: new Date().toISOString(),
        });
      },
      { detail: { summary: "goosed's DHCP service as a dnsmasq configuration (full or proxy), with reservations", parameters: queryDoc(ExportQuery) } },
    );
