/**
 * The client side of SASL SCRAM-SHA-1 (RFC 5802), with the browser's WebCrypto: no channel
 * binding (gs2 header `n,,`), no authorisation identity. The password is used as given (no
 * SASLprep: the service's own accounts are created through Salon, and Strophe does the same).
 */

type Bytes = Uint8Array<ArrayBuffer>;
const encoder = { encode: (text: string): Bytes => new Uint8Array(new TextEncoder().encode(text)) };
const decoder = new TextDecoder();

/** Base64 of text (UTF-8) or bytes. */
export function toBase64(data: string | Uint8Array): string {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function fromBase64(text: string): Bytes {
  const binary = atob(text.trim());
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** RFC 5802 §5.1 saslname: `=` and `,` are escaped. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

async function hmac(key: Bytes, data: Bytes): Promise<Bytes> {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, data));
}

async function saltedPassword(password: string, salt: Bytes, iterations: number): Promise<Bytes> {
  const k = await crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-1', salt, iterations }, k, 160));
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) if (part[1] === '=') out.set(part[0] ?? '', part.slice(2));
  return out;
}

/** Iterations beyond this are refused: a hostile server could make the browser spin. */
const MAX_ITERATIONS = 1_000_000;

export class ScramSha1Client {
  private readonly nonce: string;
  private readonly clientFirstBare: string;
  private serverSignature: Bytes | undefined;

  constructor(username: string, private readonly password: string, nonce?: string) {
    this.nonce = nonce ?? toBase64(crypto.getRandomValues(new Uint8Array(18)));
    this.clientFirstBare = `n=${saslName(username)},r=${this.nonce}`;
  }

  /** The client-first message. */
  first(): string {
    return `n,,${this.clientFirstBare}`;
  }

  /** The client-final message for the server-first one; throws on a malformed or foreign challenge. */
  async final(serverFirstBytes: Uint8Array): Promise<string> {
    const serverFirst = decoder.decode(serverFirstBytes);
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce?.startsWith(this.nonce) || nonce === this.nonce) throw new Error('login refused: the server nonce is wrong');
    if (!salt || !Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) throw new Error('login refused: bad SCRAM challenge');
    const salted = await saltedPassword(this.password, fromBase64(salt), iterations);
    const clientKey = await hmac(salted, encoder.encode('Client Key'));
    const storedKey = new Uint8Array(await crypto.subtle.digest('SHA-1', clientKey));
    const withoutProof = `c=${toBase64('n,,')},r=${nonce}`;
    const authMessage = encoder.encode(`${this.clientFirstBare},${serverFirst},${withoutProof}`);
    const clientSignature = await hmac(storedKey, authMessage);
    const proof = clientKey.map((b, i) => b ^ (clientSignature[i] ?? 0));
    const serverKey = await hmac(salted, encoder.encode('Server Key'));
    this.serverSignature = await hmac(serverKey, authMessage);
    return `${withoutProof},p=${toBase64(proof)}`;
  }

  /** Checks the server-final message (`v=` signature) of the `<success/>`. */
  async verify(serverFinalBytes: Uint8Array): Promise<boolean> {
    const expected = this.serverSignature;
    const v = attributes(decoder.decode(serverFinalBytes)).get('v');
    if (!expected || !v) return false;
    const got = fromBase64(v);
    return got.length === expected.length && got.every((b, i) => b === expected[i]);
  }
}
