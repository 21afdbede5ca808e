// DHCP protocol numbers: option codes, message types, client architectures and the fixed header values.

/** Option codes (RFC 2132; 77 RFC 3004; 82 RFC 3046; 93, 94, 97 RFC 4578; 175 iPXE's encapsulated options). */
export const DhcpOption = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DomainServer: 6,
  Hostname: 12,
  DomainName: 15,
  BroadcastAddress: 28,
  NtpServers: 42,
  VendorSpecific: 43,
  RequestedIp: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerId: 54,
  ParameterRequestList: 55,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  VendorClass: 60,
  ClientId: 61,
  TftpServerName: 66,
  BootfileName: 67,
  UserClass: 77,
  RelayAgent: 82,
  ClientArch: 93,
  ClientNdi: 94,
  ClientUuid: 97,
  Ipxe: 175,
  End: 255,
} as const;

/** Option 53 values (RFC 2132 §9.6). */
export const MessageType = { Discover: 1, Offer: 2, Request: 3, Decline: 4, Ack: 5, Nak: 6, Release: 7, Inform: 8 } as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

/** Option 52 values (RFC 2132 §9.3): which of the header's text fields carry options instead. */
export const Overload = { File: 1, Sname: 2, Both: 3 } as const;

/** Option 82 sub-options (RFC 3046 §2.0). */
export const RelayAgentSubOption = { CircuitId: 1, RemoteId: 2 } as const;

/**
 * Option 93 values: IANA "Processor Architecture Types" (RFC 4578 §2.1, as corrected by the registry:
 * RFC 4578's table swapped 7 and 9; firmware sends 7 for x64 UEFI, as the registry says).
 */
export const ClientArch = {
  BiosX86: 0,
  Itanium: 2,
  EfiIa32: 6,
  EfiX64: 7,
  EfiBc: 9,
  EfiArm32: 10,
  EfiArm64: 11,
  PowerOpenFirmware: 12,
  PowerEpapr: 13,
  PowerOpalV3: 14,
  EfiIa32Http: 15,
  EfiX64Http: 16,
  EfiBcHttp: 17,
  EfiArm32Http: 18,
  EfiArm64Http: 19,
  BiosX86Http: 20,
  UbootArm32: 21,
  UbootArm64: 22,
  UbootArm32Http: 23,
  UbootArm64Http: 24,
  EfiRiscv32: 25,
  EfiRiscv32Http: 26,
  EfiRiscv64: 27,
  EfiRiscv64Http: 28,
} as const;

/** RFC 2131 §3: the first four octets of the options field. */
export const DHCP_MAGIC_COOKIE = 0x63825363;
/** RFC 951 `op`. */
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** RFC 2131 §2 `flags`: the client cannot receive unicast before it has its address. */
export const BROADCAST_FLAG = 0x8000;
/** RFC 1542 `htype` for Ethernet (IANA ARP hardware types). */
export const HTYPE_ETHERNET = 1;
