// The TFTP domain's public surface: the read-only server, what it serves, and the pure codec for tests and tools.
export { decodeTftp, encodeTftp, type TftpDecodeReason, type TftpDecodeResult, TftpErrorCode, TftpOpcode, type TftpOption, type TftpPacket } from "./codec.ts";
export { directoryFiles, layeredFiles, memoryFiles, type TftpFile, type TftpFiles, type TftpOpenResult, type TftpRefusal } from "./files.ts";
export {
  startTftpServer,
  type TftpErrorReason,
  type TftpServer,
  type TftpServerOptions,
  type TftpStats,
  type TftpTransferEvent,
} from "./server.ts";
