// Wiring for what firmware talks to before HTTP: DHCP (full or proxy) and TFTP, filled from core and the loaders,
// with their metrics, events and readiness. Like main.ts it holds no protocol logic.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { builtInLoaders, type LoaderName, loadersDir } from "./boot/loaders.ts";
import type { Config } from "./config/index.ts";
import type { Core, Readiness } from "./core/index.ts";
import { chooseBootFile, type RunningDhcp, resolveDhcpSettings, startDhcp } from "./dhcp/index.ts";
import type { Logger } from "./lib/logger.ts";
import { Gauge, type MetricsRegistry } from "./lib/metrics.ts";
import { directoryFiles, layeredFiles, memoryFiles, startTftpServer, type TftpFiles, type TftpServer } from "./tftp/index.ts";

export interface NetworkBoot {
  /** Loaders by name, for TFTP and for UEFI HTTP boot at /boot/loaders/<name>. */
  loaders: TftpFiles;
  /** Starts the listeners the configuration asks for. */
  start(httpPort: number): Promise<void>;
  stop(): Promise<void>;
}

export interface NetworkBootDeps {
  config: Readonly<Config>;
  core: Core;
  log: Logger;
  metrics: MetricsRegistry;
  readiness: Readiness;
  /** Named artifacts from the object store, served after the loaders and before files under <data>/artifacts. */
  artifacts: TftpFiles;
}

const counterOf = (name: string, help: string, read: () => number) => new Gauge(name, help, () => [{ value: read() }], "counter");
const byLabel = (label: string, map: ReadonlyMap<string, number> | Record<string, number>) =>
  (map instanceof Map ? [...map] : Object.entries(map)).map(([key, value]) => ({ labels: { [label]: key }, value }));

export async function createNetworkBoot({ config, core, log, metrics, readiness, artifacts: named }: NetworkBootDeps): Promise<NetworkBoot> {
  const settings = resolveDhcpSettings(config.dhcp);
  const tftpOn = config.tftp.mode === "on" || (config.tftp.mode === "auto" && settings !== null);
  const overrides = loadersDir(config.dataDir);
  const artifacts = join(config.dataDir, "artifacts");
  mkdirSync(overrides, { recursive: true });
  mkdirSync(artifacts, { recursive: true });
  const builtIn = await builtInLoaders();
  const loaders = layeredFiles(directoryFiles(overrides), memoryFiles(builtIn));
  if (builtIn.size === 0) {
    log.warn("no built-in iPXE loaders; PXE clients get no loader until a bundle brings them", {
      component: "boot",
      hint: `install Debian's ipxe package and run scripts/fetch-loaders.sh (or rebuild the binary), or put undionly.kpxe and ipxe.efi in ${overrides}`,
    });
  }

  let dhcp: RunningDhcp | null = null;
  let tftp: TftpServer | null = null;

  metrics.register(new Gauge("goosed_dhcp_packets_received_total", "DHCP requests received, by message type", () => (dhcp ? byLabel("type", dhcp.stats.received) : []), "counter"));
  metrics.register(new Gauge("goosed_dhcp_replies_sent_total", "DHCP replies sent, by message type", () => (dhcp ? byLabel("type", dhcp.stats.sent) : []), "counter"));
  metrics.register(new Gauge("goosed_dhcp_packets_dropped_total", "DHCP packets not answered, by reason", () => (dhcp ? byLabel("reason", dhcp.stats.dropped) : []), "counter"));
  metrics.register(counterOf("goosed_dhcp_lease_commits_total", "Group commits of DHCP leases (each one fsync)", () => core.leases.commitCount));
  metrics.register(counterOf("goosed_dhcp_pool_exhausted_total", "DISCOVERs left without an offer because the pool was full", () => dhcp?.stats.poolExhausted ?? 0));
  metrics.register(
    new Gauge("goosed_dhcp_pool_addresses", "Pool addresses per served subnet, by state (used or free)", () =>
      (dhcp?.utilisation() ?? []).flatMap((u) => [
        { labels: { subnet: u.subnet, state: "used" }, value: u.used },
        { labels: { subnet: u.subnet, state: "free" }, value: u.size - u.used },
      ]),
    ),
  );
  metrics.register(counterOf("goosed_tftp_requests_total", "TFTP requests received", () => tftp?.stats.requests ?? 0));
  metrics.register(
    new Gauge("goosed_tftp_transfers_total", "TFTP transfers finished, by result", () =>
      tftp ? [{ labels: { result: "completed" }, value: tftp.stats.transfersCompleted }, { labels: { result: "failed" }, value: tftp.stats.transfersFailed }] : [], "counter"),
  );
  metrics.register(new Gauge("goosed_tftp_transfers_active", "TFTP transfers in progress", () => [{ value: tftp?.stats.transfersActive ?? 0 }]));
  metrics.register(counterOf("goosed_tftp_sent_bytes_total", "TFTP data bytes sent, retransmissions included", () => tftp?.stats.bytesSent ?? 0));
  metrics.register(counterOf("goosed_tftp_retransmits_total", "TFTP packets sent again after a timeout or loss", () => tftp?.stats.retransmits ?? 0));
  metrics.register(new Gauge("goosed_tftp_errors_total", "TFTP requests and transfers refused or failed, by reason", () => (tftp ? byLabel("reason", tftp.stats.errors) : []), "counter"));

  readiness.register("dhcp", () =>
    settings === null
      ? { ok: true, detail: "off (dhcp.mode)" }
      : {
          ok: dhcp !== null,
          detail: dhcp ? `${settings.mode} on ${settings.device} (${settings.serverIp}), ports 67 and 4011` : "not listening",
          listen: { interface: settings.device, address: settings.serverIp, port: "67, 4011" },
        },
  );
  readiness.register("tftp", () =>
    tftpOn
      ? { ok: tftp !== null, detail: tftp ? `listening on ${config.tftp.host}:${tftp.port}` : "not listening", ...(tftp && { listen: { address: config.tftp.host, port: String(tftp.port) } }) }
      : { ok: true, detail: "off (tftp.mode)" },
  );

  return {
    loaders,
    async start(httpPort) {
      if (tftpOn) {
        tftp = await startTftpServer({
          host: config.tftp.host,
          port: config.tftp.port,
          files: layeredFiles(loaders, named, directoryFiles(artifacts)),
          log: log.child({ component: "tftp" }),
          onTransfer: (event) => core.bus.publish(`tftp.transfer.${event.kind}`, `tftp:${event.path}`, { ...event }),
        });
        log.info("tftp listening", { component: "tftp", host: config.tftp.host, port: tftp.port });
      }
      if (settings) {
        const publicUrl = config.boot.publicUrl.replace(/\/+$/, "") || `http://${settings.serverIp}${httpPort === 80 ? "" : `:${httpPort}`}`;
        const bootSettings = {
          scriptUrl: `${publicUrl}/boot/boot.ipxe?mac=\${mac}&arch=\${buildarch}`,
          loaderBaseUrl: `${publicUrl}/boot/loaders`,
          uefiLoader: config.dhcp.uefiLoader,
          // Asked per PXE client, so loaders a bundle drops into <data>/loaders count without a restart.
          available: { has: (name: string) => builtIn.has(name as LoaderName) || existsSync(join(overrides, name)) },
        };
        dhcp = await startDhcp({
          settings,
          leases: core.leases,
          reservations: core.reservations,
          boot: (options) => chooseBootFile(options, bootSettings),
          log: log.child({ component: "dhcp" }),
        });
      }
    },
    async stop() {
      dhcp?.stop();
      await tftp?.stop();
    },
  };
}
