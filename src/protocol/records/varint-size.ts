/**
 * Encoded sizes of the zig-zag varints used inside v2 batches, so a record's length prefix
 * can be written before the record itself without encoding it twice. They agree with
 * Writer.writeVarint / writeVarlong byte for byte.
 */

export function sizeOfVarint(value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (zigzag >= 0x80) {
    zigzag >>>= 7;
    size++;
  }
  return size;
}

export function sizeOfVarlong(value: number): number {
  // Plain arithmetic instead of bit operations, which would truncate to 32 bits.
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 0x80);
    size++;
  }
  return size;
}
