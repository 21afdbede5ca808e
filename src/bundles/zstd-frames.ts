// Walks the frame and block headers of a zstd stream (RFC 8878 §3.1) without decoding, so the reader knows where
// frames and blocks end, what each frame declares, and whether the stream stopped mid-frame.

/** RFC 8878 §3.1.1 and §3.1.2. */
export const ZstdFormat = {
  FrameMagic: 0xfd2fb528,
  SkippableMagicMask: 0xfffffff0,
  SkippableMagic: 0x184d2a50,
  /** §3.1.1.2.4: a block never regenerates more than this. */
  BlockMaxBytes: 128 * 1024,
  BlockTypeReserved: 3,
  BlockTypeRle: 1,
  /** Bit 2 of the Frame_Header_Descriptor. */
  ChecksumFlag: 0x04,
} as const;

export interface ZstdFrameInfo {
  skippable: boolean;
  /** Frame_Content_Size when the frame declares it. */
  contentBytes: number | undefined;
  windowBytes: number;
  checksum: boolean;
  dictionaryId: number;
}

/** `at` is the index in the pushed chunk just after the byte that completed the event. */
export type ZstdWalkEvent =
  | { kind: "frame-header"; at: number; info: ZstdFrameInfo }
  | { kind: "block-end"; at: number }
  | { kind: "frame-end"; at: number };

export type ZstdWalkResult = { ok: true; events: ZstdWalkEvent[] } | { ok: false; reason: string; offset: number };

type Phase = "magic" | "descriptor" | "header" | "block-header" | "block-body" | "checksum" | "skip-size" | "skip-body";

/*
 * Frame (§3.1.1):
 *   | Magic_Number 4 | Frame_Header 2-14 | Data_Block ... | [Content_Checksum 4] |
 * Frame_Header:
 *   | Frame_Header_Descriptor 1 | [Window_Descriptor 1] | [Dictionary_ID 0-4] | [Frame_Content_Size 0-8] |
 *   descriptor bits: 7-6 FCS_Field_Size flag, 5 Single_Segment, 4 unused, 3 reserved (0), 2 checksum, 1-0 dict id
 * Block header (§3.1.1.2), 3 bytes little-endian:
 *   bit 0 Last_Block, bits 1-2 Block_Type (raw, RLE, compressed, reserved), bits 3-23 Block_Size
 * Skippable frame (§3.1.2): | Magic 0x184D2A5? 4 | Frame_Size 4 | User_Data |
 */
export class ZstdFrameWalker {
  #phase: Phase = "magic";
  #need = 4;
  readonly #header = new Uint8Array(14);
  #headerBytes = 0;
  #skipBytes = 0;
  #descriptor = 0;
  #info: ZstdFrameInfo | undefined;
  #lastBlock = false;
  #offset = 0;
  #frames = 0;

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Whole frames seen so far. */
  get frames(): number {
    return this.#frames;
  }

  /** True when the stream could end here: between frames. */
  get atFrameBoundary(): boolean {
    return this.#phase === "magic" && this.#headerBytes === 0;
  }

  push(chunk: Uint8Array): ZstdWalkResult {
    const events: ZstdWalkEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.#phase === "block-body" || this.#phase === "skip-body") {
        const take = Math.min(this.#skipBytes, chunk.length - i);
        i += take;
        this.#skipBytes -= take;
        if (this.#skipBytes > 0) break;
        const failure = this.#endBody(events, i);
        if (failure) return failure;
        continue;
      }
      const take = Math.min(this.#need - this.#headerBytes, chunk.length - i);
      this.#header.set(chunk.subarray(i, i + take), this.#headerBytes);
      this.#headerBytes += take;
      i += take;
      if (this.#headerBytes < this.#need) break;
      this.#headerBytes = 0;
      const fieldStart = this.#offset + i - this.#need;
      const failure = this.#step(events, i);
      if (failure) return { ok: false, reason: failure, offset: fieldStart };
    }
    this.#offset += chunk.length;
    return { ok: true, events };
  }

  #endBody(events: ZstdWalkEvent[], at: number): ZstdWalkResult | undefined {
    if (this.#phase === "skip-body") return this.#endFrame(events, at);
    events.push({ kind: "block-end", at });
    if (!this.#lastBlock) return this.#expect("block-header", 3);
    if (this.#info!.checksum) return this.#expect("checksum", 4);
    return this.#endFrame(events, at);
  }

  #endFrame(events: ZstdWalkEvent[], at: number): undefined {
    events.push({ kind: "frame-end", at });
    this.#frames++;
    this.#info = undefined;
    return this.#expect("magic", 4);
  }

  #expect(phase: Phase, need: number): undefined {
    this.#phase = phase;
    this.#need = need;
    return undefined;
  }

  /** Consumes the fixed-size field now complete in #header; returns a failure reason or undefined. */
  #step(events: ZstdWalkEvent[], at: number): string | undefined {
    const h = this.#header;
    const view = new DataView(h.buffer, 0, this.#need);
    switch (this.#phase) {
      case "magic": {
        const magic = view.getUint32(0, true);
        if (magic === ZstdFormat.FrameMagic) return this.#expect("descriptor", 1);
        if ((magic & ZstdFormat.SkippableMagicMask) >>> 0 === ZstdFormat.SkippableMagic) return this.#expect("skip-size", 4);
        return "not a zstd frame (bad magic number)";
      }
      case "descriptor": {
        const d = h[0]!;
        if (d & 0x08) return "reserved bit set in frame header";
        this.#descriptor = d;
        const singleSegment = (d & 0x20) !== 0;
        const rest = (singleSegment ? 0 : 1) + [0, 1, 2, 4][d & 3]! + fcsFieldBytes(d);
        if (rest === 0) return this.#header_(events, at);
        return this.#expect("header", rest);
      }
      case "header":
        return this.#header_(events, at);
      case "block-header": {
        const raw = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        const type = (raw >> 1) & 3;
        const size = raw >>> 3;
        if (type === ZstdFormat.BlockTypeReserved) return "reserved block type";
        if (size > Math.min(this.#info!.windowBytes, ZstdFormat.BlockMaxBytes)) return "block larger than the maximum";
        this.#lastBlock = (raw & 1) === 1;
        this.#phase = "block-body";
        this.#skipBytes = type === ZstdFormat.BlockTypeRle ? 1 : size;
        return this.#skipBytes === 0 ? zeroBody(this.#endBody(events, at)) : undefined;
      }
      case "checksum":
        return this.#endFrame(events, at);
      case "skip-size": {
        this.#info = { skippable: true, contentBytes: 0, windowBytes: 0, checksum: false, dictionaryId: 0 };
        events.push({ kind: "frame-header", at, info: this.#info });
        this.#phase = "skip-body";
        this.#skipBytes = view.getUint32(0, true);
        return this.#skipBytes === 0 ? zeroBody(this.#endBody(events, at)) : undefined;
      }
      default:
        return "walker in an impossible state";
    }
  }

  #header_(events: ZstdWalkEvent[], at: number): string | undefined {
    const d = this.#descriptor;
    const h = this.#header;
    const singleSegment = (d & 0x20) !== 0;
    let p = 0;
    let windowBytes = 0;
    if (!singleSegment) {
      const wd = h[p++]!;
      const base = 2 ** (10 + (wd >> 3));
      windowBytes = base + (base / 8) * (wd & 7);
    }
    const dictBytes = [0, 1, 2, 4][d & 3]!;
    let dictionaryId = 0;
    for (let k = 0; k < dictBytes; k++) dictionaryId += h[p++]! * 2 ** (8 * k);
    const fcsBytes = fcsFieldBytes(d);
    let contentBytes: number | undefined;
    if (fcsBytes > 0) {
      contentBytes = 0;
      for (let k = 0; k < fcsBytes; k++) contentBytes += h[p++]! * 2 ** (8 * k);
      if (fcsBytes === 2) contentBytes += 256;
    }
    if (singleSegment) windowBytes = contentBytes!;
    this.#info = { skippable: false, contentBytes, windowBytes, checksum: (d & ZstdFormat.ChecksumFlag) !== 0, dictionaryId };
    events.push({ kind: "frame-header", at, info: this.#info });
    return this.#expect("block-header", 3);
  }
}

/** §3.1.1.1.1: FCS_Field_Size from the descriptor's top two bits (0 means 1 byte when Single_Segment is set). */
function fcsFieldBytes(descriptor: number): number {
  const flag = descriptor >> 6;
  if (flag === 0) return descriptor & 0x20 ? 1 : 0;
  return [0, 2, 4, 8][flag]!;
}

function zeroBody(result: ZstdWalkResult | undefined): string | undefined {
  return result && !result.ok ? result.reason : undefined;
}
