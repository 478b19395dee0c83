/**
 * A tiny protocol-buffers writer: just what encoding an ONNX model needs (varints, 64-bit
 * integers, 32-bit floats, length-delimited bytes/strings/sub-messages, packed repeated ints).
 * Field order follows the calls; readers accept any order.
 *
 * Nothing is copied while a message is built: sub-messages and byte fields are kept by reference
 * (or, for `lazyBytes`, as a function that produces them), and `emit` hands the encoding out in
 * order, so a model's weights can go to a file or into one buffer without intermediate copies.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LENGTH = 2;

/** Bytes whose length is known up front and whose content is produced when emitted. */
interface LazyBytes {
  length: number;
  produce: () => Uint8Array;
}

type Part = Uint8Array | ProtoWriter | LazyBytes;

/** Receives the encoding in order, one piece at a time (pieces are not kept by the writer afterwards). */
export type ByteSink = (chunk: Uint8Array) => void;

/** Appends protobuf fields to a message; `finish` or `emit` writes it out. */
export class ProtoWriter {
  private parts: Part[] = [];
  private current: number[] = [];
  private length = 0;

  /** Encoded size in bytes so far. */
  get size(): number {
    return this.length;
  }

  private flush(): void {
    if (this.current.length > 0) {
      this.parts.push(Uint8Array.from(this.current));
      this.current = [];
    }
  }

  private byte(b: number): void {
    this.current.push(b);
    this.length++;
  }

  /** Writes an unsigned varint (up to 2^53) or a negative int64 as ten bytes, two's complement. */
  varint(value: number | bigint): this {
    let v = BigInt(value);
    if (v < 0n) v += 1n << 64n;
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
    return this;
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** An int32/int64/enum/bool field. */
  int(field: number, value: number | bigint | boolean): this {
    this.tag(field, WIRE_VARINT);
    return this.varint(typeof value === 'boolean' ? (value ? 1 : 0) : value);
  }

  /** A `float` field (32-bit little endian). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.byte(x);
    return this;
  }

  private part(field: number, length: number, part: Part): this {
    this.tag(field, WIRE_LENGTH);
    this.varint(length);
    this.flush();
    this.parts.push(part);
    this.length += length;
    return this;
  }

  /** A `bytes` field (kept by reference until emitted: do not change `value` before). */
  bytes(field: number, value: Uint8Array): this {
    return this.part(field, value.length, value);
  }

  /**
   * A `bytes` field of `length` bytes produced by `produce` when the message is emitted (each
   * `finish`/`emit` calls it again), so large contents exist only while they are written.
   */
  lazyBytes(field: number, length: number, produce: () => Uint8Array): this {
    return this.part(field, length, { length, produce });
  }

  /** A `string` field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** An embedded message field, written by `build` into a fresh writer (kept, not copied). */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    inner.flush();
    return this.part(field, inner.size, inner);
  }

  /** A packed `repeated int64/int32` field. */
  packedInts(field: number, values: ReadonlyArray<number | bigint>): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  /**
   * Hands the encoding to `sink` in order.
   *
   * @throws Error (internal) when a lazy field produces a different length than it announced
   */
  emit(sink: ByteSink): void {
    this.flush();
    for (const p of this.parts) {
      if (p instanceof Uint8Array) sink(p);
      else if (p instanceof ProtoWriter) p.emit(sink);
      else {
        const bytes = p.produce();
        // Internal invariant of the encoder: a plain Error.
        if (bytes.length !== p.length) throw new Error(`Internal error: a lazy protobuf field produced ${bytes.length} bytes, announced ${p.length}.`);
        sink(bytes);
      }
    }
  }

  /** The encoded bytes, in one new buffer. */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let offset = 0;
    this.emit((chunk) => {
      out.set(chunk, offset);
      offset += chunk.length;
    });
    return out;
  }
}
