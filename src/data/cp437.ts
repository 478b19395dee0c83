/**
 * IBM code page 437, the character set the zip format (APPNOTE 4.4.4) prescribes for entry names
 * whose general-purpose flag bit 11 ("language encoding", UTF-8) is clear. Every byte maps to its
 * own code point, so two names that differ in one high byte stay two different names (a lossy
 * UTF-8 decode would turn both into U+FFFD and collapse them).
 */

// Bytes 0x80..0xFF, 16 per row.
const HIGH =
  'ÇüéâäàåçêëèïîìÄÅ' +
  'ÉæÆôöòûùÿÖÜ¢£¥₧ƒ' +
  'áíóúñÑªº¿⌐¬½¼¡«»' +
  '░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
  '└┴┬├─┼╞╟╚╔╩╦╠═╬╧' +
  '╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩' +
  '≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

const TABLE: string[] = [];
for (let b = 0; b < 128; b++) TABLE.push(String.fromCharCode(b));
for (const ch of HIGH) TABLE.push(ch);
// Internal invariant of the table above, checked once at load.
if (TABLE.length !== 256) throw new Error(`cp437 table has ${TABLE.length} entries instead of 256`);

/**
 * Decodes bytes as code page 437. Bytes below 0x80 are ASCII (control bytes are kept as control
 * characters: callers that build paths reject them).
 *
 * @param bytes - the raw bytes, e.g. a zip entry's raw file name
 * @returns the decoded string (always exactly one character per byte)
 * @example
 * decodeCp437(Buffer.from([0x63, 0x61, 0x66, 0x82])) // 'café'
 */
export function decodeCp437(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += TABLE[b];
  return out;
}
