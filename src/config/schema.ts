// The one configuration schema: every setting, its default, and why the default is what it is.
import { type Static, Type } from "@sinclair/typebox";

const section = <T extends Parameters<typeof Type.Object>[0]>(properties: T) =>
  Type.Object(properties, { additionalProperties: false, default: {} });

export const ConfigSchema = Type.Object(
  {
    // Development default; the appliance image sets /var/lib/goosed in /etc/goosed/goosed.yaml.
    dataDir: Type.String({ minLength: 1, default: "./goosed-data", description: "directory holding goosed.db and blobs/" }),
    http: section({
      host: Type.String({ minLength: 1, default: "0.0.0.0", description: "address the HTTP API listens on" }),
      // 8080 so a developer can start goosed without root; the appliance image sets 80.
      port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: "HTTP port; 0 picks a free one" }),
      // 1 MiB: API bodies are small JSON; artifacts arrive through bundles and the object store, not here.
      bodyLimitBytes: Type.Integer({ minimum: 1024, default: 1_048_576, description: "largest accepted request body" }),
    }),
    log: section({
      level: Type.Union([Type.Literal("debug"), Type.Literal("info"), Type.Literal("warn"), Type.Literal("error")], {
        default: "info",
      }),
      // auto: colour lines on a terminal, JSON lines under systemd/journald and in files.
      format: Type.Union([Type.Literal("auto"), Type.Literal("json"), Type.Literal("pretty")], { default: "auto" }),
    }),
    jobs: section({
      // How often idle workers look for due jobs; new jobs wake them at once, so this only bounds retry latency.
      pollIntervalMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
      // A job that fails this many times is marked failed for good.
      maxAttempts: Type.Integer({ minimum: 1, maximum: 100, default: 5 }),
      backoffBaseMs: Type.Integer({ minimum: 1, default: 2000 }),
      backoffMaxMs: Type.Integer({ minimum: 1, default: 300_000 }),
    }),
    events: section({
      // Enough for a day of a busy VLAN's lease and run events, small enough to keep the database lean.
      retainCount: Type.Integer({ minimum: 100, default: 100_000 }),
      retainHours: Type.Integer({ minimum: 1, default: 168 }),
    }),
    boot: section({
      // Empty: the URL a machine used to reach goosed (its Host header), which is right whenever goosed has one address
      // on the provisioning VLAN. Set it when machines must use a name or a proxy.
      publicUrl: Type.String({ default: "", description: "URL machines use to reach goosed, e.g. http://10.0.0.1" }),
      // Long enough for slow firmware to load a kernel and initrd, short enough that a leaked script is soon useless.
      tokenTtlSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 900, description: "lifetime of the one-time token in a boot script" }),
      // local: an unknown machine is enrolled and boots its disk, so plugging goosed in never reinstalls anything.
      discoveryPolicy: Type.Union([Type.Literal("local"), Type.Literal("menu"), Type.Literal("profile")], {
        default: "local",
        description: "what a newly discovered machine boots: local disk, a profile menu, or discoveryProfile",
      }),
      discoveryProfile: Type.String({ default: "", description: "profile a discovered machine installs when discoveryPolicy is profile" }),
    }),
    runs: section({
      // Two hours covers a slow Windows install over a busy VLAN; a run still going after that is stuck.
      deadlineMinutes: Type.Integer({ minimum: 1, maximum: 10_080, default: 120, description: "a run not finished by then fails" }),
    }),
    agents: section({
      refreshAfterSeconds: Type.Integer({ minimum: 60, default: 86_400, description: "agents rotate their token this often" }),
      heartbeatSeconds: Type.Integer({ minimum: 10, default: 900, description: "how often agents check in" }),
    }),
    dhcp: section({
      // off: plugging goosed into a network never hands out addresses there until an operator says which one to serve.
      mode: Type.Union([Type.Literal("off"), Type.Literal("full"), Type.Literal("proxy")], {
        default: "off",
        description: "full: addresses and boot information; proxy: boot information only, beside the lab's DHCP server",
      }),
      interface: Type.String({ default: "", description: "network interface to serve, e.g. eth1; required unless mode is off" }),
      range: Type.String({ default: "", description: "full mode's pool on the interface's subnet, e.g. 10.0.0.100-10.0.0.199" }),
      router: Type.String({ default: "", description: "default gateway handed out, option 3; empty: none" }),
      dns: Type.Array(Type.String(), { default: [], description: "DNS servers handed out, option 6" }),
      domain: Type.String({ default: "", description: "domain name handed out, option 15" }),
      ntp: Type.Array(Type.String(), { default: [], description: "NTP servers handed out, option 42" }),
      // An hour: long enough that a boot storm's renewals stay light, short enough that a re-cabled lab recovers soon.
      leaseSeconds: Type.Integer({ minimum: 10, maximum: 31_536_000, default: 3600, description: "lease time, option 51" }),
      relays: Type.Array(
        Type.Object(
          {
            network: Type.String({ description: "the relayed subnet, e.g. 10.0.1.0/24" }),
            range: Type.String({ description: "pool in that subnet, e.g. 10.0.1.100-10.0.1.199" }),
            router: Type.Optional(Type.String()),
            dns: Type.Optional(Type.Array(Type.String())),
            domain: Type.Optional(Type.String()),
            ntp: Type.Optional(Type.Array(Type.String())),
            leaseSeconds: Type.Optional(Type.Integer({ minimum: 10 })),
          },
          { additionalProperties: false },
        ),
        { default: [], description: "subnets reached through DHCP relays (giaddr)" },
      ),
      // ipxe.efi carries iPXE's own NIC drivers and boots most machines fastest; snponly.efi drives the NIC through the
      // firmware, for the NICs iPXE has no driver for.
      uefiLoader: Type.Union([Type.Literal("ipxe.efi"), Type.Literal("snponly.efi")], {
        default: "ipxe.efi",
        description: "loader for UEFI x64 PXE clients",
      }),
    }),
    tftp: section({
      // auto: TFTP runs whenever goosed answers DHCP, since that is when firmware will ask it for a loader.
      mode: Type.Union([Type.Literal("auto"), Type.Literal("on"), Type.Literal("off")], { default: "auto", description: "auto: on when DHCP is not off" }),
      host: Type.String({ minLength: 1, default: "0.0.0.0", description: "address the TFTP server listens on" }),
      port: Type.Integer({ minimum: 0, maximum: 65535, default: 69, description: "TFTP port; firmware always asks on 69" }),
    }),
    objects: section({
      // local: blobs under <dataDir>/blobs. s3: blobs in a bucket of an existing S3 cluster, metadata still here.
      backend: Type.Union([Type.Literal("local"), Type.Literal("s3")], { default: "local", description: "where object content lives: local disk or an external S3 cluster" }),
      // us-east-1 is what S3 clients assume when told nothing, so awscli and s3cmd work without a region setting.
      region: Type.String({ minLength: 1, default: "us-east-1", description: "the region the S3 API answers for; clients must sign for it" }),
      // 0: S3 is served at /s3 on the HTTP port only. Clients that cannot take a path in their endpoint (the minio
      // client) want a port of their own.
      s3Port: Type.Integer({ minimum: 0, maximum: 65535, default: 0, description: "a second port serving the S3 API at its root; 0: none" }),
      // S3's own limit on an object; a lab's largest is a DVD image or a Windows WIM.
      maxObjectBytes: Type.Integer({ minimum: 1, default: 5 * 1024 ** 4, description: "largest object a PUT or a multipart upload may make" }),
      s3: section({
        endpoint: Type.String({ default: "", description: "external S3 endpoint URL, e.g. http://minio.lab:9000" }),
        bucket: Type.String({ default: "", description: "bucket on the external S3 cluster that holds goosed's blobs" }),
        region: Type.String({ minLength: 1, default: "us-east-1" }),
        accessKey: Type.String({ default: "" }),
        secretKey: Type.String({ default: "" }),
      }),
    }),
    bundles: section({
      // Empty: no watching. The appliance image points it at where USB sticks are mounted.
      watchDir: Type.String({ default: "", description: "directory where USB sticks are mounted; bundles (*.tar.zst) found there are offered for import" }),
      // Off: an operator imports what was found; a lab that trusts its signers can import on insertion.
      autoImport: Type.Boolean({ default: false, description: "import bundles found in watchDir as soon as they appear (signature still checked)" }),
      // Trusted before the watcher's first look, so a stick already inserted at boot can be auto-imported.
      trustKeys: Type.Array(Type.String(), {
        default: [],
        description: "signify public key files (.pub) to trust at start, named after the file; a key already known (or revoked) is left as it is",
      }),
    }),
    // The global layer of template variables (then group, profile, machine, run); see templates/README.md.
    vars: Type.Record(Type.String(), Type.Unknown(), { default: {}, description: "global template variables" }),
    // In-flight requests and jobs get this long after SIGTERM before they are cut off.
    shutdownGraceMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000 }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
