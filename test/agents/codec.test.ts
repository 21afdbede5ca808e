// The agent protocol codec: proto3 JSON (both spellings) and binary protobuf, negotiation, and bad input.
import { describe, expect, test } from "bun:test";
import { create, type DescMessage, type Message, toBinary, toJson } from "@bufbuild/protobuf";
import {
  decodeAgentMessage,
  EnrollRequestSchema,
  EnrollResponseSchema,
  encodeAgentMessage,
  FactsRequestSchema,
  FactsResponseSchema,
  FactsSchema,
  factsToJson,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  PROTOBUF_CONTENT_TYPE,
  TokenRefreshRequestSchema,
  TokenRefreshResponseSchema,
} from "../../src/agents/index.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);
const hex = (annotated: string) => Uint8Array.from(annotated.replace(/#.*$/gm, "").match(/[0-9a-f]{2}/g)!.map((b) => parseInt(b, 16)));

const facts = create(FactsSchema, {
  hostname: "node1.lab",
  machineId: "3d1219c7c4c5404aaa1f6d2a48adfda4",
  os: { name: "Debian GNU/Linux", version: "12", kernel: "6.1.0-18-amd64", arch: "x86_64" },
  cpu: { model: "AMD EPYC 7302P 16-Core Processor", cores: 16, threads: 32 },
  memoryBytes: 137438953472n,
  disks: [
    { name: "sda", sizeBytes: 480103981056n, model: "SAMSUNG MZ7LH480", serial: "S45PNA0M", rotational: false, type: "disk" },
    { name: "sdb", sizeBytes: 8001563222016n, model: "ST8000NM000A", serial: "ZA1\"quoted\\", rotational: true, type: "disk" },
  ],
  interfaces: [{ name: "eno1", mac: "52:54:00:12:34:56", addresses: ["192.0.2.10/24", "fe80::5054:ff:fe12:3456/64"], mtu: 9000, state: "up" }],
  dmi: { vendor: "Supermicro", product: "AS -1014S-WTRT", serial: "S123", uuid: "0b2c0f5e-1c7a-4b5e-9a55-2f0c1d6e7a88", biosVendor: "American Megatrends", biosVersion: "2.4a" },
  bootMode: "uefi",
  uptimeSeconds: 86400n,
  agentVersion: "0.1.0",
});

// One filled-in example of every message the protocol has.
const examples: Array<[string, DescMessage, Message]> = [
  ["EnrollRequest", EnrollRequestSchema, create(EnrollRequestSchema, { hostname: "node1.lab", machineId: "3d12", agentVersion: "0.1.0" })],
  ["EnrollResponse", EnrollResponseSchema, create(EnrollResponseSchema, { agentToken: "gd_a_1", machine: 9007199254740993n, refreshAfterSeconds: 86400, heartbeatSeconds: 900 })],
  ["FactsRequest", FactsRequestSchema, create(FactsRequestSchema, { facts, postinstallDone: true })],
  ["FactsRequest (failed)", FactsRequestSchema, create(FactsRequestSchema, { facts, failed: true, failureReason: "no disk\nfound" })],
  ["FactsResponse", FactsResponseSchema, create(FactsResponseSchema, { runState: "succeeded", machine: 42n })],
  ["HeartbeatRequest", HeartbeatRequestSchema, create(HeartbeatRequestSchema, { uptimeSeconds: 4294967296n, agentVersion: "0.1.0" })],
  ["HeartbeatResponse", HeartbeatResponseSchema, create(HeartbeatResponseSchema, { heartbeatSeconds: 900 })],
  ["TokenRefreshRequest", TokenRefreshRequestSchema, create(TokenRefreshRequestSchema)],
  ["TokenRefreshResponse", TokenRefreshResponseSchema, create(TokenRefreshResponseSchema, { agentToken: "gd_a_2", refreshAfterSeconds: 3600 })],
];

describe("round trips", () => {
  test.each(examples)("%s through lowerCamelCase JSON", (_name, schema, message) => {
    const json = JSON.stringify(toJson(schema, message));
    expect(decodeAgentMessage(schema, utf8(json), "application/json")).toEqual({ ok: true, value: message });
  });

  test.each(examples)("%s through snake_case JSON", (_name, schema, message) => {
    const json = JSON.stringify(toJson(schema, message, { useProtoFieldName: true }));
    expect(decodeAgentMessage(schema, utf8(json), "application/json; charset=utf-8")).toEqual({ ok: true, value: message });
  });

  test.each(examples)("%s through encodeAgentMessage's JSON", (_name, schema, message) => {
    const encoded = encodeAgentMessage(schema, message, "application/json");
    expect(encoded.contentType).toBe("application/json");
    expect(typeof encoded.body).toBe("string");
    expect(decodeAgentMessage(schema, utf8(encoded.body as string), encoded.contentType)).toEqual({ ok: true, value: message });
  });

  test.each(examples)("%s through binary protobuf", (_name, schema, message) => {
    const encoded = encodeAgentMessage(schema, message, PROTOBUF_CONTENT_TYPE);
    expect(encoded.contentType).toBe(PROTOBUF_CONTENT_TYPE);
    expect(encoded.body).toBeInstanceOf(Uint8Array);
    expect(decodeAgentMessage(schema, encoded.body as Uint8Array, PROTOBUF_CONTENT_TYPE)).toEqual({ ok: true, value: message });
  });
});

describe("golden binary", () => {
  // FactsRequest { facts { hostname, memory_bytes, interfaces[0] { name, mac, addresses, mtu }, boot_mode }, postinstall_done }
  const golden = hex(`
    0a 3e                               # field 1 facts, LEN, 62 bytes
       0a 05 6e 6f 64 65 31             #   field 1 hostname, LEN 5: "node1"
       28 80 80 80 80 20                #   field 5 memory_bytes, VARINT: 2^33 = 8589934592
       3a 29                            #   field 7 interfaces, LEN, 41 bytes
          0a 04 65 74 68 30             #     field 1 name, LEN 4: "eth0"
          12 11 35 32 3a 35 34 3a 30 30 3a 31 32 3a 33 34 3a 35 36
                                        #     field 2 mac, LEN 17: "52:54:00:12:34:56"
          1a 0b 31 30 2e 30 2e 30 2e 35 2f 32 34
                                        #     field 3 addresses, LEN 11: "10.0.0.5/24"
          20 dc 0b                      #     field 4 mtu, VARINT: 0x5c | 0x0b << 7 = 1500
       4a 04 75 65 66 69                #   field 9 boot_mode, LEN 4: "uefi"
    10 01                               # field 2 postinstall_done, VARINT: true
  `);
  const expected = create(FactsRequestSchema, {
    facts: {
      hostname: "node1",
      memoryBytes: 8589934592n,
      interfaces: [{ name: "eth0", mac: "52:54:00:12:34:56", addresses: ["10.0.0.5/24"], mtu: 1500 }],
      bootMode: "uefi",
    },
    postinstallDone: true,
  });

  test("decodes to the expected FactsRequest", () => {
    expect(decodeAgentMessage(FactsRequestSchema, golden, PROTOBUF_CONTENT_TYPE)).toEqual({ ok: true, value: expected });
  });

  test("is exactly what the encoder writes (deterministic field order)", () => {
    expect(toBinary(FactsRequestSchema, expected)).toEqual(golden);
  });

  test("a field this schema does not know survives binary decoding, as protobuf's rule is", () => {
    // field 15, VARINT 7: what a newer agent might add.
    const decoded = decodeAgentMessage(FactsRequestSchema, Uint8Array.from([...golden, 0x78, 0x07]), PROTOBUF_CONTENT_TYPE);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(toBinary(FactsRequestSchema, decoded.value)).toEqual(Uint8Array.from([...golden, 0x78, 0x07]));
  });

  test("a seeded mutation fuzz never throws", () => {
    const seed = Number(process.env.GOOSED_FUZZ_SEED ?? Date.now() % 2 ** 31);
    console.log(`codec fuzz seed ${seed} (GOOSED_FUZZ_SEED=${seed} repeats it)`);
    let state = seed;
    // mulberry32: small, seedable, good enough to pick bytes.
    const random = () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const json = utf8(encodeAgentMessage(FactsRequestSchema, expected, null).body as string);
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const [source, contentType] = i % 2 === 0 ? [golden, PROTOBUF_CONTENT_TYPE] : [json, "application/json"];
      const bytes = source.slice(0, Math.max(1, Math.floor(random() * (source.length + 1))));
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      const result = decodeAgentMessage(FactsRequestSchema, bytes, contentType);
      expect(typeof result.ok).toBe("boolean");
      if (!result.ok) {
        rejected++;
        expect(result.reason).not.toBe("");
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });
});

describe("rejected input", () => {
  const binary = PROTOBUF_CONTENT_TYPE;
  const json = "application/json";
  test.each([
    ["a truncated varint", EnrollRequestSchema, Uint8Array.of(0xff), binary, "body is not a binary goosed.agent.v1.EnrollRequest: premature EOF"],
    ["a length past the end", EnrollRequestSchema, Uint8Array.of(0x0a, 0x05, 0x61), binary, "body is not a binary goosed.agent.v1.EnrollRequest: premature EOF"],
    ["wire type 7", EnrollRequestSchema, Uint8Array.of(0x0f), binary, "body is not a binary goosed.agent.v1.EnrollRequest: illegal tag: field no 1 wire type 7"],
    ["field number 0", EnrollRequestSchema, Uint8Array.of(0x00), binary, "body is not a binary goosed.agent.v1.EnrollRequest: illegal tag: field no 0 wire type 0"],
    ["a string that is not UTF-8", EnrollRequestSchema, Uint8Array.of(0x0a, 0x02, 0xff, 0xfe), binary, "body is not a binary goosed.agent.v1.EnrollRequest: The encoded data was not valid for encoding utf-8"],
    ["JSON cut short", EnrollRequestSchema, utf8("{"), json, "body is not valid JSON: JSON Parse error: Expected '}'"],
    ["JSON that is not UTF-8", EnrollRequestSchema, Uint8Array.of(0x7b, 0xff, 0x7d), json, "body is not valid UTF-8"],
    ["a JSON array", EnrollRequestSchema, utf8("[]"), json, "body is not a JSON object"],
    ["JSON null", EnrollRequestSchema, utf8("null"), json, "body is not a JSON object"],
    ["an unknown field", EnrollRequestSchema, utf8('{"hostname":"a","bogus":1}'), json, 'cannot decode message goosed.agent.v1.EnrollRequest from JSON: key "bogus" is unknown'],
    ["an unknown nested field", FactsRequestSchema, utf8('{"facts":{"os":{"name":"x","flavour":"y"}}}'), json, 'cannot decode message goosed.agent.v1.OsInfo from JSON: key "flavour" is unknown'],
    ["a number for a string", EnrollRequestSchema, utf8('{"hostname":5}'), json, "cannot decode field goosed.agent.v1.EnrollRequest.hostname from JSON: expected string, got 5"],
    ["both spellings of one field", EnrollRequestSchema, utf8('{"machine_id":"a","machineId":"b"}'), json, "cannot decode field goosed.agent.v1.EnrollRequest.machine_id from JSON: set multiple times"],
    ["a negative uint64", FactsRequestSchema, utf8('{"facts":{"memory_bytes":"-1"}}'), json, "cannot decode field goosed.agent.v1.Facts.memory_bytes from JSON: expected bigint (uint64): -1 out of range"],
    ["an int64 out of range", HeartbeatRequestSchema, utf8('{"uptime_seconds":"99999999999999999999"}'), json, "cannot decode field goosed.agent.v1.HeartbeatRequest.uptime_seconds from JSON: expected bigint (int64): 99999999999999999999 out of range"],
    ["another content type", EnrollRequestSchema, utf8("{}"), "text/plain", 'unsupported content type "text/plain"; send application/json or application/x-protobuf'],
  ])("%s", (_name, schema, body, contentType, reason) => {
    expect(decodeAgentMessage(schema as DescMessage, body as Uint8Array, contentType as string)).toEqual({ ok: false, reason });
  });
});

describe("accepted input", () => {
  test("64-bit integers as JSON numbers or strings", () => {
    for (const uptime of ["123", 123]) {
      const decoded = decodeAgentMessage(HeartbeatRequestSchema, utf8(JSON.stringify({ uptime_seconds: uptime })), "application/json");
      expect(decoded).toEqual({ ok: true, value: create(HeartbeatRequestSchema, { uptimeSeconds: 123n }) });
    }
  });

  test.each([
    ["JSON", "application/json"],
    ["binary", PROTOBUF_CONTENT_TYPE],
    ["no content type", ""],
  ])("an empty body is the empty message (%s)", (_name, contentType) => {
    expect(decodeAgentMessage(TokenRefreshRequestSchema, new Uint8Array(), contentType)).toEqual({ ok: true, value: create(TokenRefreshRequestSchema) });
  });

  test("media types are matched without their parameters and case", () => {
    const body = toBinary(HeartbeatResponseSchema, create(HeartbeatResponseSchema, { heartbeatSeconds: 60 }));
    expect(decodeAgentMessage(HeartbeatResponseSchema, body, "Application/X-Protobuf; proto=goosed.agent.v1.HeartbeatResponse")).toEqual({
      ok: true,
      value: create(HeartbeatResponseSchema, { heartbeatSeconds: 60 }),
    });
    expect(decodeAgentMessage(HeartbeatResponseSchema, body, "application/protobuf").ok).toBe(true);
  });
});

describe("encodeAgentMessage", () => {
  const reply = create(EnrollResponseSchema, { agentToken: "gd_a_1", machine: 42n });

  test("JSON uses the .proto names and writes every field, defaults too", () => {
    expect(encodeAgentMessage(EnrollResponseSchema, reply, null)).toEqual({
      body: '{"agent_token":"gd_a_1","machine":"42","refresh_after_seconds":0,"heartbeat_seconds":0}',
      contentType: "application/json",
    });
  });

  test.each([
    ["no Accept", null, "application/json"],
    ["application/x-protobuf", "application/x-protobuf", PROTOBUF_CONTENT_TYPE],
    ["application/protobuf", "application/protobuf", PROTOBUF_CONTENT_TYPE],
    ["a request content type with parameters", "application/x-protobuf; charset=binary", PROTOBUF_CONTENT_TYPE],
    ["protobuf beside a wildcard", "application/x-protobuf, */*;q=0.1", PROTOBUF_CONTENT_TYPE],
    ["protobuf and a wildcard at equal quality", "application/x-protobuf, */*", PROTOBUF_CONTENT_TYPE],
    ["JSON preferred by quality", "application/x-protobuf;q=0.5, application/json", "application/json"],
    ["protobuf preferred by quality", "application/json;q=0.5, application/x-protobuf", PROTOBUF_CONTENT_TYPE],
    ["a tie between protobuf and JSON", "application/json, application/x-protobuf", "application/json"],
    ["protobuf refused with q=0", "application/x-protobuf;q=0", "application/json"],
    ["a wildcard only", "*/*", "application/json"],
    ["application/json", "application/json", "application/json"],
    ["something we do not speak", "text/html", "application/json"],
  ])("%s → %s", (_name, accept, contentType) => {
    expect(encodeAgentMessage(EnrollResponseSchema, reply, accept).contentType).toBe(contentType);
  });
});

test("factsToJson: .proto names, 64-bit integers as strings, every field", () => {
  const small = create(FactsSchema, {
    hostname: "node1",
    memoryBytes: 8589934592n,
    disks: [{ name: "sda", sizeBytes: 1000n, rotational: true }],
  });
  expect(factsToJson(small)).toEqual({
    hostname: "node1",
    machine_id: "",
    memory_bytes: "8589934592",
    disks: [{ name: "sda", size_bytes: "1000", model: "", serial: "", rotational: true, type: "" }],
    interfaces: [],
    boot_mode: "",
    uptime_seconds: "0",
    agent_version: "",
  });
  // What factsToJson writes decodes back to the same facts.
  expect(decodeAgentMessage(FactsSchema, utf8(JSON.stringify(factsToJson(facts))), "application/json")).toEqual({ ok: true, value: facts });
});
