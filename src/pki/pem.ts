/** PEM armour (RFC 7468): DER in, text out, and every block of a text back out. */

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
  /** The block as text (headers included), for node:crypto's PEM readers. */
  readonly text: string;
}

/** Every PEM block of a text, in order (none when the text is not PEM). */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m; (m = re.exec(text)) !== null;) {
    const body = (m[2] as string)
      .split('\n')
      .filter((l) => !l.includes(':'))
      .join('');
    out.push({ label: m[1] as string, der: Buffer.from(body.replace(/\s+/g, ''), 'base64'), text: m[0] });
  }
  return out;
}

/** Is this file content PEM (rather than DER)? */
export function isPem(data: Buffer): boolean {
  return (
    data.subarray(0, 64).toString('latin1').includes('-----BEGIN ') || data.toString('latin1').includes('-----BEGIN ')
  );
}
