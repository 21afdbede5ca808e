// Streaming zstd for offline bundles: deterministic multi-frame compression and bounded, bomb-proof decompression.
//
// Layout we write: independent frames of `frameBytes` input each (8 MiB), each with its content size and XXH64
// checksum. Frames are compressed on Bun's thread pool, two at a time, so a 2-core box compresses at CLI speed; the
// bytes depend only on the input, level and frame size (never on chunking or scheduling). Any zstd stream reads
// back: small sized frames go one-shot to the thread pool, anything else (a CLI-made single 1 GiB frame, frames
// without a declared size) streams through node:zlib a few blocks at a time. Measured in bench/zstd-stream.ts.
import { constants as zlibConstants, createZstdDecompress, type ZstdDecompress } from "node:zlib";
import { AppError } from "../lib/errors.ts";
import { ZstdFormat, ZstdFrameWalker, type ZstdFrameInfo } from "./zstd-frames.ts";

/**
 * 1 MiB frames: against 8 MiB ones, a 512 MiB bundle decompressed 3x faster and imported 1.6x faster with 40% less
 * peak memory (fresh multi-megabyte buffers per frame cost more than the compression they save), at the same size.
 */
export const DEFAULT_FRAME_BYTES = 1024 * 1024;
/** Sized frames up to this decode one-shot; bigger ones stream. Bounds one frame's output buffer. */
const ONE_SHOT_MAX_BYTES = 16 * 1024 * 1024;
/** Frames in flight on the thread pool: one per core of the 2-core appliance. */
const DEFAULT_CONCURRENCY = 2;
/** Streamed frames are fed this many blocks per write: at most 16 × 128 KiB of output per step (bomb bound). */
const STREAM_BLOCKS_PER_WRITE = 16;
const STREAM_BYTES_PER_WRITE = 1024 * 1024;
/** zstd -19 uses 8 MiB windows; refusing larger ones keeps a hostile frame from reserving up to 2 GiB. */
const MAX_WINDOW_LOG = 24;

export class ZstdLimitError extends AppError {
  constructor(readonly limitBytes: number, readonly producedBytes: number) {
    super({
      code: "bundle-too-large",
      status: 422,
      title: "Bundle larger than declared",
      detail: `compressed data expands past ${limitBytes} bytes (reached ${producedBytes})`,
    });
    this.name = "ZstdLimitError";
  }
}

export type ZstdDataFault = "truncated" | "corrupt" | "unsupported";

export class ZstdDataError extends AppError {
  constructor(readonly reason: ZstdDataFault, readonly offset: number, message: string, cause?: unknown) {
    super({ code: `bundle-${reason}`, status: 422, title: `Bundle ${reason}`, detail: `${message} at compressed byte ${offset}`, cause });
    this.name = "ZstdDataError";
  }
}

export interface ZstdCompressOptions {
  level?: number;
  /** Input bytes per independent frame; part of the output format (changing it changes the bytes). */
  frameBytes?: number;
  concurrency?: number;
}

/** Compresses `source` into independent zstd frames; same input and options give the same bytes. */
export async function* zstdCompressStream(
  source: AsyncIterable<Uint8Array>,
  { level = 3, frameBytes = DEFAULT_FRAME_BYTES, concurrency = DEFAULT_CONCURRENCY }: ZstdCompressOptions = {},
): AsyncGenerator<Uint8Array> {
  // Frame buffers are reused once their frame is compressed: a fresh 8 MiB buffer per frame costs more in page
  // faults than compressing it (bench/bundles.ts).
  const inFlight: { job: Promise<Uint8Array[]>; buffer: Uint8Array }[] = [];
  const free: Uint8Array[] = [];
  let frame: Uint8Array = new Uint8Array(frameBytes);
  let filled = 0;
  let frames = 0;
  const dispatch = (content: Uint8Array): void => {
    frames++;
    const job = compressFrame(content, level);
    job.catch(() => {}); // awaited in order below; this only keeps an early failure from being "unhandled"
    inFlight.push({ job, buffer: frame });
  };
  async function* settleOne(): AsyncGenerator<Uint8Array> {
    const { job, buffer } = inFlight.shift()!;
    const parts = await job;
    free.push(buffer);
    yield* parts;
  }
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(frameBytes - filled, chunk.length - at);
      frame.set(chunk.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled < frameBytes) break;
      dispatch(frame);
      if (inFlight.length >= concurrency) yield* settleOne();
      frame = free.pop() ?? new Uint8Array(frameBytes);
      filled = 0;
    }
  }
  // An empty input still gets one (empty) frame, so an empty stream always means "truncated" to the reader.
  if (filled > 0 || frames === 0) dispatch(frame.subarray(0, filled));
  while (inFlight.length > 0) yield* settleOne();
}

/**
 * One frame with content size and checksum, as two pieces: the compressed frame and its 4-byte checksum (no copy of
 * the frame to append it). Bun.zstdCompress runs ZSTD_compress on the thread pool (node:zlib's one-shot is 5x slower
 * here) but cannot set the checksum flag, so we set it: RFC 8878 §3.1.1.1.1 bit 2, and the checksum is the low 32
 * bits of XXH64(content), little-endian, after the last block (§3.1.1).
 */
async function compressFrame(content: Uint8Array, level: number): Promise<Uint8Array[]> {
  const checksum = new Uint8Array(4);
  new DataView(checksum.buffer).setUint32(0, Number(Bun.hash.xxHash64(content) & 0xffffffffn), true);
  const compressed = await Bun.zstdCompress(content, { level });
  compressed[4]! |= ZstdFormat.ChecksumFlag;
  return [compressed, checksum];
}

export interface ZstdDecompressOptions {
  /** Refuse (ZstdLimitError) as soon as the output would pass this. */
  maxOutputBytes: number;
  concurrency?: number;
}

interface FrameState {
  info: ZstdFrameInfo | undefined;
  startOffset: number;
  pieces: Uint8Array[];
  pieceBytes: number;
  blocks: number;
  stream: FrameStream | undefined;
}

/** Decompresses any zstd stream; throws ZstdLimitError past maxOutputBytes and ZstdDataError on bad input. */
export async function* zstdDecompressStream(
  source: AsyncIterable<Uint8Array>,
  { maxOutputBytes, concurrency = DEFAULT_CONCURRENCY }: ZstdDecompressOptions,
): AsyncGenerator<Uint8Array> {
  const walker = new ZstdFrameWalker();
  const inFlight: { job: Promise<Uint8Array>; offset: number }[] = [];
  let produced = 0;
  let promised = 0; // declared sizes of frames in flight
  let frame: FrameState = newFrame(0);

  const account = (bytes: number): void => {
    produced += bytes;
    if (produced > maxOutputBytes) throw new ZstdLimitError(maxOutputBytes, produced);
  };
  async function* settleOne(): AsyncGenerator<Uint8Array> {
    const { job, offset } = inFlight.shift()!;
    let out: Uint8Array;
    try {
      out = await job;
    } catch (cause) {
      throw new ZstdDataError("corrupt", offset, "frame does not decode", cause);
    }
    promised -= out.length;
    account(out.length);
    yield out;
  }
  async function* flushStream(final: boolean): AsyncGenerator<Uint8Array> {
    const stream = frame.stream!;
    const input = frame.pieces.length === 1 ? frame.pieces[0]! : Buffer.concat(frame.pieces);
    frame.pieces = [];
    frame.pieceBytes = 0;
    frame.blocks = 0;
    for (const out of await stream.write(input, final)) {
      account(out.length);
      yield out;
    }
  }

  try {
    for await (const chunk of source) {
      const walked = walker.push(chunk);
      if (!walked.ok) throw new ZstdDataError("corrupt", walked.offset, walked.reason);
      let from = 0;
      for (const event of walked.events) {
        addPiece(frame, chunk.subarray(from, event.at));
        from = event.at;
        if (event.kind === "frame-header") {
          const info = event.info;
          frame.info = info;
          if (info.skippable) continue;
          if (info.dictionaryId !== 0) throw new ZstdDataError("unsupported", frame.startOffset, "frame needs a dictionary");
          if (info.windowBytes > 2 ** MAX_WINDOW_LOG)
            throw new ZstdDataError("unsupported", frame.startOffset, `window of ${info.windowBytes} bytes is too large`);
          if (info.contentBytes !== undefined && produced + promised + info.contentBytes > maxOutputBytes)
            throw new ZstdLimitError(maxOutputBytes, produced + promised + info.contentBytes);
          if (info.contentBytes === undefined || info.contentBytes > ONE_SHOT_MAX_BYTES) {
            while (inFlight.length > 0) yield* settleOne();
            frame.stream = new FrameStream(frame.startOffset);
          }
        } else if (event.kind === "block-end") {
          frame.blocks++;
          if (frame.stream && (frame.blocks >= STREAM_BLOCKS_PER_WRITE || frame.pieceBytes >= STREAM_BYTES_PER_WRITE))
            yield* flushStream(false);
        } else {
          if (frame.stream) yield* flushStream(true);
          else if (!frame.info!.skippable) {
            // Walker-bounded: a sized frame's blocks never regenerate more than declared, so this stays small.
            const whole = frame.pieces.length === 1 ? frame.pieces[0]! : Buffer.concat(frame.pieces);
            const job = Bun.zstdDecompress(whole);
            job.catch(() => {});
            inFlight.push({ job, offset: frame.startOffset });
            promised += frame.info!.contentBytes!;
            if (inFlight.length >= concurrency) yield* settleOne();
          }
          frame = newFrame(walker.offset - chunk.length + event.at);
        }
        if (!frame.stream && frame.pieceBytes > ONE_SHOT_MAX_BYTES + ZstdFormat.BlockMaxBytes)
          throw new ZstdDataError("corrupt", frame.startOffset, "frame is larger than the content it declares");
      }
      addPiece(frame, chunk.subarray(from));
      if (frame.stream && frame.pieceBytes >= STREAM_BYTES_PER_WRITE) {
        // Keep memory bounded inside huge blocks-heavy chunks: write what is complete so far.
        yield* flushStream(false);
      }
    }
    if (!walker.atFrameBoundary || walker.frames === 0)
      throw new ZstdDataError("truncated", walker.offset, "stream ends inside a frame");
    while (inFlight.length > 0) yield* settleOne();
  } finally {
    frame.stream?.destroy();
  }
}

function newFrame(startOffset: number): FrameState {
  return { info: undefined, startOffset, pieces: [], pieceBytes: 0, blocks: 0, stream: undefined };
}

function addPiece(frame: FrameState, piece: Uint8Array): void {
  if (piece.length === 0) return;
  frame.pieces.push(piece);
  frame.pieceBytes += piece.length;
}

/** One node:zlib decoder for one frame; write() resolves with everything that input produced. */
class FrameStream {
  readonly #decoder: ZstdDecompress;
  #output: Uint8Array[] = [];
  #error: unknown;

  constructor(readonly startOffset: number) {
    this.#decoder = createZstdDecompress({ params: { [zlibConstants.ZSTD_d_windowLogMax]: MAX_WINDOW_LOG } });
    this.#decoder.on("data", (out: Uint8Array) => this.#output.push(out));
    this.#decoder.on("error", (error) => (this.#error ??= error));
  }

  async write(input: Uint8Array, final: boolean): Promise<Uint8Array[]> {
    await new Promise<void>((resolve) => {
      if (input.length === 0) resolve();
      else this.#decoder.write(input, () => resolve());
    });
    if (final) {
      await new Promise<void>((resolve) => {
        this.#decoder.once("end", resolve);
        this.#decoder.once("error", () => resolve());
        this.#decoder.end();
      });
    }
    if (this.#error) throw new ZstdDataError("corrupt", this.startOffset, "frame does not decode", this.#error);
    const out = this.#output;
    this.#output = [];
    return out;
  }

  destroy(): void {
    this.#decoder.destroy();
  }
}
