// Redis Cluster's key → slot mapping (CRC16/XMODEM of the key or of its
// {hash tag}, mod 16384), so that -MOVED names the slot a cluster client
// expects and its slot cache stays right.

const table = buildTable()

function buildTable(): Uint16Array {
  const result = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    result[i] = crc
  }
  return result
}

export function crc16(data: Uint8Array): number {
  let crc = 0
  for (let i = 0; i < data.length; i++) {
    crc = ((crc << 8) & 0xffff) ^ (table[((crc >> 8) ^ (data[i] as number)) & 0xff] as number)
  }
  return crc
}

export const slotCount = 16384

export function keySlot(key: Buffer): number {
  const open = key.indexOf(123) // '{'
  if (open !== -1) {
    const close = key.indexOf(125, open + 1) // '}'
    if (close > open + 1) return crc16(key.subarray(open + 1, close)) % slotCount
  }
  return crc16(key) % slotCount
}
