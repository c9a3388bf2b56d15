// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum Google Secret Manager sends with a
// payload (`dataCrc32c`). Not zlib's CRC-32: the polynomial differs. Check value: crc32c("123456789") =
// 0xE3069283.
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
