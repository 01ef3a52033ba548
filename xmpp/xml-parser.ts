/**
 * Incremental, hardened XML stream parser for XMPP: bytes in, stream events and self-contained
 * ltx stanzas out.
 *
 * Why hand-written: RFC 6120 §11 restricts the XML a peer may send (no DTD, comment or
 * processing instruction; UTF-8 only), and stanza limits must be enforced byte-exactly and
 * incrementally, before anything is buffered. saxes and ltx report a DTD or a comment only after
 * buffering it, and count no bytes.
 *
 * Specs: XML 1.0 5th ed. (https://www.w3.org/TR/xml/), Namespaces in XML 1.0
 * (https://www.w3.org/TR/xml-names/), RFC 6120 §4.9.3 and §11
 * (https://www.rfc-editor.org/rfc/rfc6120), RFC 7395 (WebSocket) and XEP-0206 (BOSH) for the
 * rootless framing. Simplifications: a name may hold any non-ASCII character (valid UTF-8 still
 * required); duplicate attributes are compared by qualified name, not by namespace URI.
 *
 * Memory: between writes only the bytes of the current incomplete token are kept (a tag, a CDATA
 * section, the XML declaration, or a short run of text); longer text is decoded as it arrives, a
 * tag is parsed as it arrives (resuming where the last write stopped, so the result never depends
 * on how the input was split), and nothing recurses on the input's depth.
 *
 * Longer than 500 lines because it is one byte-level state machine: the pending buffer, the limit
 * windows and the resumable tag state are shared by every token, and splitting them across files
 * would expose those internals without making any part simpler.
 */
import { isAscii } from 'node:buffer';
import { Element } from 'ltx';
import { StreamError } from './errors.ts';

export interface XmlParserLimits {
  /** Bytes from the '<' of a stanza's start tag to the '>' ending it, inclusive. */
  maxStanzaBytes: number;
  /** Element nesting inside one stanza; the stanza itself is depth 1. */
  maxDepth: number;
  /** Attributes per element. */
  maxAttributes: number;
  /** Raw bytes of one attribute's name plus its value. */
  maxAttributeBytes: number;
  /** Bytes of the stream header, or of any incomplete token buffered outside a stanza. */
  maxHeaderBytes: number;
}

/** Limits for client streams; the stanza limit is Prosody's `c2s_stanza_size_limit` (256 KiB). */
export const defaultClientLimits: XmlParserLimits = Object.freeze({
  maxStanzaBytes: 262144,
  maxDepth: 64,
  maxAttributes: 64,
  maxAttributeBytes: 16384,
  maxHeaderBytes: 8192,
});

export interface XmlParserEvents {
  /** The root start tag (TCP `<stream:stream ...>`), attributes as written (incl. xmlns
   * declarations). Only in rooted mode. */
  streamOpen(name: string, attrs: Record<string, string>): void;
  /** A complete top-level element (depth 1 under the root in rooted mode; depth 0 element in rootless mode). */
  stanza(element: Element, byteLength: number): void;
  /** The root end tag (rooted mode). */
  streamClose(): void;
}

const TAB = 0x09, LF = 0x0a, CR = 0x0d, SP = 0x20, BANG = 0x21, QUOT = 0x22, HASH = 0x23;
const AMP = 0x26, APOS = 0x27, DASH = 0x2d, SLASH = 0x2f, SEMI = 0x3b, LT = 0x3c, EQ = 0x3d;
const GT = 0x3e, QMARK = 0x3f, LSQB = 0x5b, RSQB = 0x5d;

const CDATA_OPEN = Buffer.from('<![CDATA[');
const CDATA_CLOSE = Buffer.from(']]>');
const XML_DECL_OPEN = Buffer.from('<?xml');
const PI_CLOSE = Buffer.from('?>');
/** Longest reference we decode, '&' to ';' inclusive: `&#x10FFFF;` plus room for leading zeros. */
const MAX_REF = 16;
/** Text shorter than this is not decoded until its end arrives (see charData()). */
const MIN_TEXT = 256;
/** While a token is pending, a large chunk is appended this much at a time, so the pending
 * buffer never outgrows the limit that will reject it by more than this. */
const PIECE = 65536;
/** Strings up to SHORT bytes are sliced from a decoded window of WINDOW bytes (see str()); both are
 * small because V8 slices of 13 characters or more keep the whole window alive. */
const SHORT = 64;
const WINDOW = 1024;

/** Per ASCII byte: 1 = may start an XML Name, 2 = may continue one (XML 1.0 §2.3, ASCII part). */
const NAME = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const start = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3a;
  const more = start || (c >= 0x30 && c <= 0x39) || c === DASH || c === 0x2e;
  NAME[c] = (start ? 1 : 0) | (more ? 2 : 0);
}

// Parser states.
const START = 0; // nothing read yet: a UTF-8 BOM or the XML declaration may come
const AFTER_BOM = 1; // the BOM was read: the XML declaration may come
const PROLOG = 2; // rooted, before the root start tag
const CONTENT = 3; // inside the root (rooted) or between top-level elements (rootless)
const STANZA = 4; // inside a stanza
const EPILOG = 5; // after the root end tag
type State = 0 | 1 | 2 | 3 | 4 | 5;

// Where parseTag and endTag stopped: in a name, in whitespace, after '/', in an attribute name,
// before '=', before the quote, in a value.
const T_NAME = 0, T_SPACE = 1, T_SLASH = 2, T_ATTR = 3, T_EQ = 4, T_QUOTE = 5, T_VALUE = 6;

/** A start or end tag in progress (offsets relative to its '<'). */
interface TagProgress {
  phase: number;
  at: number;
  name: string;
  attrs: Record<string, string>;
  /** Namespace declarations, as in Frame; whether any name has a prefix; whether the tag ends in '/>'. */
  ns: string[] | undefined;
  prefixed: boolean;
  empty: boolean;
  /** Whitespace seen since the name or the last attribute (one must precede an attribute). */
  gap: boolean;
  count: number;
  /** The current attribute: name start and end, quote, value start, start of the bytes not yet
   * decoded, the value decoded so far, and whether those bytes hold whitespace to normalize. */
  an: number;
  ae: number;
  quote: number;
  vs: number;
  seg: number;
  value: string;
  ws: boolean;
}

/** An open element of the current stanza, with the namespaces it declares ([prefix, uri, ...], '' = default). */
interface Frame {
  el: Element;
  ns: string[] | undefined;
}

const malformed = (text: string) => new StreamError('not-well-formed', text);
const restricted = (text: string) => new StreamError('restricted-xml', text);
const overLimit = (text: string) => new StreamError('policy-violation', text);
const isWs = (c: number) => c === SP || c === LF || c === CR || c === TAB;

export class XmlParser {
  private readonly events: XmlParserEvents;
  private readonly limits: XmlParserLimits;
  private readonly rooted: boolean;
  private failure: { error: unknown } | undefined;
  private state: State = START;
  /** Bumped by reset(), so code that fired an event can tell the stream restarted under it. */
  private generation = 0;
  /** The incomplete token: pending[0] is its first byte, plen bytes are valid. */
  private pending = Buffer.allocUnsafe(1024);
  private plen = 0;
  /** Stream offsets: of pending[0], of index 0 of the buffer being parsed, of the next chunk. */
  private pendingAt = 0;
  private base = 0;
  private fed = 0;
  /** Non-zero when the pending token was partly parsed: where its search resumes (CDATA, XML
   * declaration), or a flag telling parseTag/endTag to resume from this.tag. */
  private scan = 0;
  private stack: Frame[] = [];
  /** Text of the innermost open element not yet appended (adjacent text, CDATA and references join). */
  private text = '';
  private stanzaAt = 0;
  private rootName = '';
  private rootNs: string[] = [];
  /** Prefixes the current stanza resolved through the root's declarations. */
  private borrowed: string[] = [];
  /** The tag being parsed; reused, and kept between writes when the tag is incomplete. */
  private readonly tag: TagProgress = {
    phase: 0, at: 0, name: '', attrs: {}, ns: undefined, prefixed: false, empty: false, gap: false,
    count: 0, an: 0, ae: 0, quote: 0, vs: 0, seg: 0, value: '', ws: false,
  };
  /** Where the last entity() call's reference ended (a field keeps the hot path free of result objects). */
  private refEnd = 0;
  /** A window of the buffer being parsed, decoded once if ASCII (see str()). */
  private winBuf: Buffer | undefined;
  private winFrom = 0;
  private winTo = 0;
  private winText = '';

  constructor(events: XmlParserEvents, options: { limits: XmlParserLimits; rooted: boolean }) {
    for (const key of ['maxStanzaBytes', 'maxDepth', 'maxAttributes', 'maxAttributeBytes', 'maxHeaderBytes'] as const) {
      const value = options.limits[key];
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`XmlParser: bad limit ${key}`);
    }
    this.events = events;
    this.limits = { ...options.limits };
    this.rooted = options.rooted;
  }

  /** Feeds bytes; events fire synchronously. Throws StreamError on any violation; after a throw
   * (also one from an event handler) the parser is dead and further writes throw the same error. */
  write(chunk: Uint8Array): void {
    if (this.failure) throw this.failure.error;
    try {
      this.feed(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (error) {
      this.failure = { error };
      throw error;
    }
  }

  /** Stream restart (RFC 6120 §4.3.3, after STARTTLS/SASL): forget everything; the next bytes may
   * carry a new XML declaration and root. Called from an event handler, the rest of the chunk
   * being parsed belongs to the new stream. Does not revive a dead parser. */
  reset(): void {
    this.generation++;
    this.state = START;
    this.stack = [];
    this.text = '';
    this.plen = 0;
    this.scan = 0;
    this.rootName = '';
    this.rootNs = [];
    this.borrowed = [];
    if (this.pending.length > PIECE) this.pending = Buffer.allocUnsafe(1024);
  }

  private feed(chunk: Buffer): void {
    const at = this.fed;
    this.fed += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      if (this.plen === 0) {
        this.base = at;
        this.keep(chunk, this.run(chunk, off, chunk.length), chunk.length);
        return;
      }
      const n = Math.min(chunk.length - off, PIECE);
      this.append(chunk, off, off + n);
      off += n;
      const buf = this.pending, end = this.plen;
      this.base = this.pendingAt;
      this.keep(buf, this.run(buf, 0, end), end);
    }
  }

  private append(chunk: Buffer, from: number, to: number): void {
    const need = this.plen + to - from;
    if (this.pending.length < need) {
      const next = Buffer.allocUnsafe(Math.max(need, 2 * this.pending.length));
      this.pending.copy(next, 0, 0, this.plen);
      this.pending = next;
    }
    chunk.copy(this.pending, this.plen, from, to);
    this.plen = need;
  }

  /** Keeps buf[pos, end) (the incomplete token) as the pending bytes; a large pending buffer is
   * given back once the token it grew for is done. */
  private keep(buf: Buffer, pos: number, end: number): void {
    const n = end - pos;
    this.pendingAt = this.base + pos;
    this.plen = n;
    const shrink = this.pending.length > PIECE && n <= 1024;
    if (buf === this.pending && !shrink) {
      if (pos > 0 && n > 0) buf.copyWithin(0, pos, end);
      return;
    }
    if (shrink || this.pending.length < n) this.pending = Buffer.allocUnsafe(Math.max(n, 1024));
    if (n > 0) buf.copy(this.pending, 0, pos, end);
  }

  /** Parses buf[pos, end); returns where the incomplete token (if any) starts. */
  private run(buf: Buffer, pos: number, end: number): number {
    this.winBuf = undefined;
    while (pos < end) {
      let next: number;
      if (this.state === STANZA) {
        const limit = Math.min(end, this.stanzaAt + this.limits.maxStanzaBytes - this.base);
        if (pos >= limit) throw overLimit('stanza too large');
        if (buf[pos] !== LT) {
          next = this.charData(buf, pos, limit);
          if (next < limit && buf[next] === LT) {
            pos = next;
            continue;
          }
          if (limit < end) throw overLimit('stanza too large');
          return next;
        }
        next = this.markup(buf, pos, end);
      } else {
        next = buf[pos] === LT ? this.markup(buf, pos, end) : this.outside(buf, pos, end);
      }
      if (next < 0) return pos;
      pos = next;
    }
    return pos;
  }

  /** Bytes outside any stanza that are not markup: a BOM at the start, else only whitespace (keepalives). */
  private outside(buf: Buffer, pos: number, end: number): number {
    const state = this.state;
    const c = buf[pos]!;
    if (state === START) {
      if (c === 0xef) {
        const n = Math.min(3, end - pos);
        if ((n < 2 || buf[pos + 1] === 0xbb) && (n < 3 || buf[pos + 2] === 0xbf)) {
          if (n < 3) return -1;
          this.state = AFTER_BOM;
          return pos + 3;
        }
      }
      // RFC 6120 §11.6: UTF-8 only; a UTF-16/32 byte order mark or a leading NUL means another encoding.
      if (c === 0xfe || c === 0xff || c === 0) throw new StreamError('unsupported-encoding', 'only UTF-8 is supported');
    }
    let i = pos;
    while (i < end && isWs(buf[i]!)) i++;
    if (i === pos) throw malformed(state === EPILOG ? 'content after the end of the stream' : 'text outside a stanza');
    if (state <= AFTER_BOM) this.state = this.rooted ? PROLOG : CONTENT;
    return i;
  }

  /** Markup at buf[s] === '<': returns the index after it, or -1 when more bytes are needed. */
  private markup(buf: Buffer, s: number, end: number): number {
    if (s + 1 >= end) return -1;
    const c1 = buf[s + 1]!;
    let state = this.state;
    if (state === EPILOG) throw malformed('content after the end of the stream');
    if (state <= AFTER_BOM && c1 !== QMARK) this.state = state = this.rooted ? PROLOG : CONTENT;
    const inStanza = state === STANZA || (state === CONTENT && c1 !== SLASH && c1 !== BANG && c1 !== QMARK);
    const { maxStanzaBytes, maxHeaderBytes } = this.limits;
    const bound = inStanza ? (state === STANZA ? this.stanzaAt - this.base : s) + maxStanzaBytes : s + maxHeaderBytes;
    const limit = Math.min(end, bound);
    let next: number;
    if (c1 === QMARK) {
      // RFC 6120 §11.1: no processing instructions; only the XML declaration, and only first.
      if (state > AFTER_BOM) throw restricted('processing instruction');
      next = this.xmlDeclaration(buf, s, limit);
    } else if (c1 === BANG) next = this.bang(buf, s, limit);
    else if (c1 === SLASH) next = this.endTag(buf, s, limit);
    else next = this.parseTag(buf, s, limit);
    if (next < 0) {
      if (limit < end) throw overLimit(inStanza ? 'stanza too large' : 'stream header too large');
      return next;
    }
    this.scan = 0;
    if (c1 !== QMARK && c1 !== BANG && c1 !== SLASH) this.open(s, next);
    return next;
  }

  private xmlDeclaration(buf: Buffer, s: number, limit: number): number {
    const n = Math.min(limit - s, 6);
    for (let k = 2; k < Math.min(n, 5); k++) {
      if (buf[s + k] !== XML_DECL_OPEN[k]) throw restricted('processing instruction');
    }
    if (n < 6) return -1;
    const c5 = buf[s + 5]!;
    if (c5 === QMARK) throw malformed('XML declaration without version');
    if (!isWs(c5)) throw restricted('processing instruction');
    const close = buf.indexOf(PI_CLOSE, s + Math.max(6, this.scan));
    if (close < 0 || close + 2 > limit) {
      this.scan = Math.max(6, limit - s - 1);
      return -1;
    }
    checkDeclaration(buf, s + 5, close);
    this.state = this.rooted ? PROLOG : CONTENT;
    return close + 2;
  }

  /** `<!`: a CDATA section inside a stanza; a comment or DTD markup is refused from its first bytes. */
  private bang(buf: Buffer, s: number, limit: number): number {
    if (s + 2 >= limit) return -1;
    const c2 = buf[s + 2]!;
    if (c2 === DASH) {
      if (s + 3 >= limit) return -1;
      if (buf[s + 3] === DASH) throw restricted('comment');
      throw malformed('bad markup');
    }
    // <!DOCTYPE, <!ENTITY, ...: RFC 6120 §11.1 forbids any DTD, which also rules out entity expansion.
    if ((c2 | 0x20) >= 0x61 && (c2 | 0x20) <= 0x7a) throw restricted('DTD markup');
    if (c2 !== LSQB || this.state !== STANZA) throw malformed('bad markup');
    const n = Math.min(limit - s, CDATA_OPEN.length);
    for (let k = 3; k < n; k++) if (buf[s + k] !== CDATA_OPEN[k]) throw malformed('bad CDATA section');
    if (n < CDATA_OPEN.length) return -1;
    const close = buf.indexOf(CDATA_CLOSE, s + Math.max(CDATA_OPEN.length, this.scan));
    if (close < 0 || close + 3 > limit) {
      this.scan = Math.max(CDATA_OPEN.length, limit - s - 2);
      return -1;
    }
    this.addText(buf, s + CDATA_OPEN.length, close, checkChars(buf, s + CDATA_OPEN.length, close));
    return close + 3;
  }

  /** Parses the start tag at buf[s] into this.tag, resuming where the last write stopped; returns
   * the index after '>' or -1 when it runs past `limit`. */
  private parseTag(buf: Buffer, s: number, limit: number): number {
    const { maxAttributes, maxAttributeBytes } = this.limits;
    const t = this.tag;
    let i = s + t.at;
    let phase = t.phase;
    if (this.scan === 0) {
      i = s + 1;
      phase = T_NAME;
      t.attrs = {};
      t.ns = undefined;
      t.count = 0;
    }
    for (;;) {
      if (phase === T_NAME) {
        const e = nameEnd(buf, i, limit, i === s + 1);
        if (e < 0) return this.suspend(T_NAME, ~e - s);
        if (e === s + 1) throw malformed('bad element name');
        t.name = this.str(buf, s + 1, e);
        t.prefixed = t.name.includes(':');
        t.gap = false;
        i = e;
        phase = T_SPACE;
      }
      if (phase === T_SPACE) {
        const from = i;
        while (i < limit && isWs(buf[i]!)) i++;
        if (i > from) t.gap = true;
        if (i >= limit) return this.suspend(T_SPACE, i - s);
        const c = buf[i]!;
        if (c === GT) {
          t.empty = false;
          return i + 1;
        }
        if (c === SLASH) {
          phase = T_SLASH;
          i++;
        } else {
          if (!t.gap) throw malformed('expected whitespace before an attribute');
          t.an = i - s;
          phase = T_ATTR;
        }
      }
      if (phase === T_SLASH) {
        if (i >= limit) return this.suspend(T_SLASH, i - s);
        if (buf[i] !== GT) throw malformed("expected '>' after '/'");
        t.empty = true;
        return i + 1;
      }
      if (phase === T_ATTR) {
        const an = s + t.an;
        const e = nameEnd(buf, i, Math.min(limit, an + maxAttributeBytes + 1), i === an);
        if (e < 0) {
          if (limit - an > maxAttributeBytes) throw overLimit('attribute too large');
          return this.suspend(T_ATTR, ~e - s);
        }
        if (e === an) throw malformed('bad attribute name');
        t.ae = e - s;
        i = e;
        phase = T_EQ;
      }
      if (phase === T_EQ) {
        while (i < limit && isWs(buf[i]!)) i++;
        if (i >= limit) return this.suspend(T_EQ, i - s);
        if (buf[i] !== EQ) throw malformed('attribute without a value');
        i++;
        phase = T_QUOTE;
      }
      if (phase === T_QUOTE) {
        while (i < limit && isWs(buf[i]!)) i++;
        if (i >= limit) return this.suspend(T_QUOTE, i - s);
        const q = buf[i]!;
        if (q !== QUOT && q !== APOS) throw malformed('attribute value without quotes');
        t.quote = q;
        t.vs = t.seg = ++i - s;
        t.value = '';
        t.ws = false;
        phase = T_VALUE;
      }
      // phase === T_VALUE
      const room = maxAttributeBytes - (t.ae - t.an);
      const vs = s + t.vs;
      const end = this.attrValue(buf, i, Math.min(limit, vs + room + 1), s);
      if (end < 0) {
        if (limit - vs > room) throw overLimit('attribute too large');
        return this.suspend(T_VALUE, ~end - s);
      }
      if (++t.count > maxAttributes) throw overLimit('too many attributes');
      this.addAttribute(this.str(buf, s + t.an, s + t.ae), t.value);
      t.gap = false;
      i = end + 1;
      phase = T_SPACE;
    }
  }

  private suspend(phase: number, at: number): number {
    this.tag.phase = phase;
    this.tag.at = at;
    this.scan = 1;
    return -1;
  }

  private addAttribute(key: string, value: string): void {
    const t = this.tag;
    if (Object.hasOwn(t.attrs, key)) throw malformed('duplicate attribute');
    // An own property even for '__proto__', which plain assignment would turn into a prototype change.
    if (key === '__proto__') {
      Object.defineProperty(t.attrs, key, { value, enumerable: true, writable: true, configurable: true });
    } else t.attrs[key] = value;
    if (key.startsWith('xmlns') && (key.length === 5 || key.charCodeAt(5) === 0x3a)) {
      const prefix = key.slice(6);
      if (key.length > 5 && (!prefix || !value || prefix.includes(':'))) throw malformed('bad namespace declaration');
      (t.ns ??= []).push(prefix, value);
    } else if (!t.prefixed && key.includes(':')) t.prefixed = true;
  }

  /** Decodes an attribute value from buf[i] up to its closing quote into tag.value (XML 1.0 §3.3.3
   * normalization); returns the quote's index, or ~j when it runs past `stop` (j: where to resume). */
  private attrValue(buf: Buffer, i: number, stop: number, s: number): number {
    const t = this.tag, q = t.quote;
    let seg = s + t.seg;
    let ws = t.ws;
    while (i < stop) {
      const c = buf[i]!;
      if (c >= 0x20 && c < 0x80) {
        if (c === q) {
          t.value += normalize(this.str(buf, seg, i), ws, ' ');
          return i;
        }
        if (c === LT) throw malformed("'<' in an attribute value");
        if (c === AMP) {
          const cp = this.entity(buf, i, stop);
          if (cp < 0) break;
          t.value += normalize(this.str(buf, seg, i), ws, ' ') + String.fromCodePoint(cp);
          i = seg = this.refEnd;
          ws = false;
          continue;
        }
        i++;
      } else if (c < 0x20) {
        if (c !== TAB && c !== LF && c !== CR) throw malformed('character not allowed in XML');
        ws = true;
        i++;
      } else {
        const n = utf8Len(buf, i, stop);
        if (n === 0) break;
        i += n;
      }
    }
    t.seg = seg - s;
    t.ws = ws;
    return ~i;
  }

  /** Character data inside a stanza, up to '<' or `limit`; returns where it stopped: at '<', or where
   * the bytes to keep for the next write start. */
  private charData(buf: Buffer, pos: number, limit: number): number {
    let i = pos;
    let seg = pos;
    let cr = false;
    let out = '';
    while (i < limit) {
      const c = buf[i]!;
      if (c >= 0x20 && c < 0x80) {
        if (c === LT) break;
        if (c === AMP) {
          const cp = this.entity(buf, i, limit);
          if (cp < 0) break;
          out += normalize(this.str(buf, seg, i), cr, '\n') + String.fromCodePoint(cp);
          i = seg = this.refEnd;
          cr = false;
          continue;
        }
        // XML 1.0 §2.4: ']]>' must not appear in character data.
        if (c === GT && i - 2 >= pos && buf[i - 1] === RSQB && buf[i - 2] === RSQB) throw malformed("']]>' in text");
        i++;
      } else if (c < 0x20) {
        if (c === CR) cr = true;
        else if (c !== TAB && c !== LF) throw malformed('character not allowed in XML');
        i++;
      } else {
        const n = utf8Len(buf, i, limit);
        if (n === 0) break;
        i += n;
      }
    }
    let stop = i;
    if (i === limit || buf[i] !== LT) {
      // Out of bytes. A short run is kept whole for the next write, so that tiny writes do not each
      // add a string piece; a longer one is kept from its incomplete reference or UTF-8 sequence, or
      // from up to two trailing ']' or CR, so that a ']]>' or CRLF split across writes is seen whole.
      if (i - pos < MIN_TEXT) return pos;
      if (i === limit) while (stop > seg && stop > i - 2 && (buf[stop - 1] === RSQB || buf[stop - 1] === CR)) stop--;
    }
    this.text += out;
    this.addText(buf, seg, stop, cr);
    return stop;
  }

  private addText(buf: Buffer, from: number, to: number, cr: boolean): void {
    if (to > from) this.text += normalize(this.str(buf, from, to), cr, '\n');
  }

  /** Decodes the reference at buf[i] === '&' (XML 1.0 §4.1, only the five predefined entities and
   * character references); returns its code point and sets refEnd, or -1 when it runs past `lim`. */
  private entity(buf: Buffer, i: number, lim: number): number {
    const max = Math.min(lim, i + MAX_REF);
    let j = i + 1;
    for (; j < max; j++) {
      const c = buf[j]!;
      if (c === SEMI) break;
      if (c !== HASH && (c >= 0x80 || (NAME[c]! & 2) === 0)) throw malformed('bad reference');
    }
    if (j >= max) {
      if (lim < i + MAX_REF) return -1;
      throw malformed('bad reference');
    }
    this.refEnd = j + 1;
    const a = buf[i + 1], b = buf[i + 2], len = j - i - 1;
    if (a === HASH) {
      let k = i + 2;
      const radix = b === 0x78 ? 16 : 10;
      if (radix === 16) k++;
      if (k === j) throw malformed('bad character reference');
      let cp = 0;
      for (; k < j; k++) {
        const d = digit(buf[k]!, radix);
        if (d < 0) throw malformed('bad character reference');
        cp = cp * radix + d;
      }
      if (!isXmlChar(cp)) throw malformed('reference to a character not allowed in XML');
      return cp;
    }
    if (len === 2 && b === 0x74) {
      if (a === 0x6c) return 0x3c; // lt
      if (a === 0x67) return 0x3e; // gt
    } else if (len === 3 && a === 0x61 && b === 0x6d && buf[i + 3] === 0x70) return 0x26; // amp
    else if (len === 4) {
      const c = buf[i + 3], d = buf[i + 4];
      if (a === 0x71 && b === 0x75 && c === 0x6f && d === 0x74) return 0x22; // quot
      if (a === 0x61 && b === 0x70 && c === 0x6f && d === 0x73) return 0x27; // apos
    }
    throw malformed('undefined entity');
  }

  private endTag(buf: Buffer, s: number, limit: number): number {
    const t = this.tag;
    const resume = this.scan !== 0;
    let i = resume ? s + t.at : s + 2;
    if (!resume || t.phase === T_NAME) {
      const e = nameEnd(buf, i, limit, i === s + 2);
      if (e < 0) return this.suspend(T_NAME, ~e - s);
      if (e === s + 2) throw malformed('bad end tag');
      t.ae = e - s;
      i = e;
    }
    while (i < limit && isWs(buf[i]!)) i++;
    if (i >= limit) return this.suspend(T_SPACE, i - s);
    if (buf[i] !== GT) throw malformed('bad end tag');
    const a = s + 2, b = s + t.ae;
    const next = i + 1;
    if (this.state === STANZA) {
      const frame = this.stack.pop()!;
      if (!sameName(buf, a, b, frame.el.name)) throw malformed('mismatched end tag');
      if (this.text !== '') {
        frame.el.children.push(this.text);
        this.text = '';
      }
      if (this.stack.length === 0) this.emit(frame.el, this.base + next - this.stanzaAt);
      return next;
    }
    if (this.state !== CONTENT || !this.rooted || !sameName(buf, a, b, this.rootName)) {
      throw malformed('end tag without a start tag');
    }
    this.state = EPILOG;
    this.events.streamClose();
    return next;
  }

  /** Places the element just parsed (tag* fields) at buf[s, next): root, new stanza or child. */
  private open(s: number, next: number): void {
    const state = this.state;
    const { name, attrs, ns, empty } = this.tag;
    if (state === CONTENT) this.borrowed = [];
    if (this.tag.prefixed) this.checkPrefixes(name, attrs, ns);
    if (state === PROLOG) {
      this.rootName = name;
      this.rootNs = ns ?? [];
      this.state = CONTENT;
      const generation = this.generation;
      this.events.streamOpen(name, attrs);
      if (empty && generation === this.generation) {
        this.state = EPILOG;
        this.events.streamClose();
      }
      return;
    }
    if (this.stack.length >= this.limits.maxDepth) throw overLimit('elements nested too deeply');
    const el = new Element(name);
    el.attrs = attrs;
    if (state === CONTENT) {
      this.stanzaAt = this.base + s;
      if (empty) this.emit(el, next - s);
      else {
        this.stack.push({ el, ns });
        this.state = STANZA;
      }
      return;
    }
    const parent = this.stack[this.stack.length - 1]!.el;
    if (this.text !== '') {
      parent.children.push(this.text);
      this.text = '';
    }
    parent.children.push(el);
    el.parent = parent;
    if (!empty) this.stack.push({ el, ns });
  }

  /** Namespaces in XML §5: every prefix used must be declared in scope ('xml' always is). */
  private checkPrefixes(name: string, attrs: Record<string, string>, own: string[] | undefined): void {
    this.requirePrefix(name, own);
    for (const key in attrs) {
      if (!key.startsWith('xmlns:')) this.requirePrefix(key, own);
    }
  }

  private requirePrefix(qname: string, own: string[] | undefined): void {
    const colon = qname.indexOf(':');
    if (colon < 0) return;
    if (colon === 0 || colon === qname.length - 1 || qname.includes(':', colon + 1)) {
      throw malformed('bad qualified name');
    }
    const prefix = qname.slice(0, colon);
    if (prefix === 'xml' || (own !== undefined && lookup(own, prefix) !== undefined)) return;
    for (let k = this.stack.length - 1; k >= 0; k--) {
      const ns = this.stack[k]!.ns;
      if (ns !== undefined && lookup(ns, prefix) !== undefined) return;
    }
    if (lookup(this.rootNs, prefix) === undefined) {
      throw new StreamError('bad-namespace-prefix', 'undeclared namespace prefix');
    }
    if (!this.borrowed.includes(prefix)) this.borrowed.push(prefix);
  }

  /** Decodes validated bytes. Short strings (names, most values) are sliced from one decoded
   * window when it is ASCII: a JS substring costs far less than a native decode per string. */
  private str(buf: Buffer, from: number, to: number): string {
    if (to - from > SHORT || from === to) return to > from ? buf.toString('utf8', from, to) : '';
    if (buf !== this.winBuf || from < this.winFrom || to > this.winTo) {
      if (buf[from]! >= 0x80) return buf.toString('utf8', from, to);
      let winTo = Math.min(buf.length, from + WINDOW);
      if (!isAscii(buf.subarray(from, winTo))) for (winTo = from + 1; buf[winTo]! < 0x80; ) winTo++;
      this.winBuf = buf;
      this.winFrom = from;
      this.winTo = winTo;
      this.winText = buf.toString('latin1', from, winTo);
      if (to > winTo) return buf.toString('utf8', from, to);
    }
    return this.winText.slice(from - this.winFrom, to - this.winFrom);
  }

  /** Hands out a finished stanza, made self-contained with the root's namespaces it relies on. */
  private emit(el: Element, byteLength: number): void {
    this.stack.length = 0;
    this.state = CONTENT;
    if (this.rooted) {
      for (const prefix of this.borrowed) {
        if (!Object.hasOwn(el.attrs, `xmlns:${prefix}`)) el.attrs[`xmlns:${prefix}`] = lookup(this.rootNs, prefix);
      }
      const ns = lookup(this.rootNs, '');
      if (ns !== undefined && !Object.hasOwn(el.attrs, 'xmlns')) el.attrs = { xmlns: ns, ...el.attrs };
    }
    this.events.stanza(el, byteLength);
  }
}

function lookup(ns: string[], prefix: string): string | undefined {
  for (let k = 0; k < ns.length; k += 2) if (ns[k] === prefix) return ns[k + 1];
  return undefined;
}

/** Length of the valid UTF-8 sequence (of an XML Char) whose lead byte >= 0x80 is buf[i]; 0 when
 * it runs past `end`. Throws on overlongs, surrogates, > U+10FFFF, U+FFFE and U+FFFF. */
function utf8Len(buf: Buffer, i: number, end: number): number {
  const b0 = buf[i]!;
  if (b0 < 0xc2 || b0 > 0xf4) throw malformed('invalid UTF-8');
  let n = 2, lo = 0x80, hi = 0xbf;
  if (b0 >= 0xf0) {
    n = 4;
    if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f;
  } else if (b0 >= 0xe0) {
    n = 3;
    if (b0 === 0xe0) lo = 0xa0;
    else if (b0 === 0xed) hi = 0x9f;
  }
  const avail = Math.min(n, end - i);
  if (avail > 1 && (buf[i + 1]! < lo || buf[i + 1]! > hi)) throw malformed('invalid UTF-8');
  for (let k = 2; k < avail; k++) if ((buf[i + k]! & 0xc0) !== 0x80) throw malformed('invalid UTF-8');
  if (avail < n) return 0;
  if (b0 === 0xef && buf[i + 1] === 0xbf && buf[i + 2]! >= 0xbe) throw malformed('character not allowed in XML');
  return n;
}

/** Scans an XML Name from buf[i] (its first character when `first`): returns the index after it (i
 * itself when no name starts there), or ~j when it may continue past `lim` (j: where to resume). */
function nameEnd(buf: Buffer, i: number, lim: number, first: boolean): number {
  if (first && i < lim && buf[i]! < 0x80 && (NAME[buf[i]!]! & 1) === 0) return i;
  while (i < lim) {
    const c = buf[i]!;
    if (c < 0x80) {
      if ((NAME[c]! & 2) === 0) return i;
      i++;
    } else {
      const n = utf8Len(buf, i, lim);
      if (n === 0) break;
      i += n;
    }
  }
  return ~i;
}

/** Validates complete character data (CDATA content); returns whether it holds a CR. */
function checkChars(buf: Buffer, from: number, to: number): boolean {
  let cr = false;
  for (let i = from; i < to; ) {
    const c = buf[i]!;
    if (c >= 0x20 && c < 0x80) i++;
    else if (c < 0x20) {
      if (c === CR) cr = true;
      else if (c !== TAB && c !== LF) throw malformed('character not allowed in XML');
      i++;
    } else {
      const n = utf8Len(buf, i, to);
      if (n === 0) throw malformed('invalid UTF-8');
      i += n;
    }
  }
  return cr;
}

/** When `ws` (the text holds CR, or TAB/LF/CR in a value), applies XML 1.0 line-end normalization
 * (§2.11) to text (`space` = '\n') or turns each whitespace character of a value into a space (§3.3.3). */
function normalize(s: string, ws: boolean, space: string): string {
  if (!ws) return s;
  return space === '\n' ? s.replace(/\r\n?/g, '\n') : s.replace(/\r\n|[\t\n\r]/g, ' ');
}

function sameName(buf: Buffer, from: number, to: number, name: string): boolean {
  if (to - from === name.length) {
    let k = 0;
    for (; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (c >= 0x80 || buf[from + k] !== c) break;
    }
    if (k === name.length) return true;
  }
  return buf.toString('utf8', from, to) === name;
}

function digit(c: number, radix: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (radix === 16 && (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) return (c | 0x20) - 0x57;
  return -1;
}

function isXmlChar(cp: number): boolean {
  if (cp < 0x20) return cp === TAB || cp === LF || cp === CR;
  return cp <= 0xd7ff || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** XML 1.0 §2.8 XMLDecl: version 1.0, then optionally encoding (UTF-8 only, RFC 6120 §11.6) and standalone. */
function checkDeclaration(buf: Buffer, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c >= 0x80 || (c < 0x20 && !isWs(c))) throw malformed('bad XML declaration');
  }
  const decl = buf.toString('latin1', from, to);
  const pairs = new Map<string, string>();
  let i = 0;
  for (;;) {
    const gap = i;
    while (i < decl.length && isWs(decl.charCodeAt(i))) i++;
    if (i === decl.length) break;
    const eq = decl.indexOf('=', i);
    let v = eq + 1;
    while (v < decl.length && isWs(decl.charCodeAt(v))) v++;
    const q = decl[v];
    const close = q === '"' || q === "'" ? decl.indexOf(q, v + 1) : -1;
    const name = decl.slice(i, Math.max(i, eq)).trimEnd();
    if (i === gap || eq < 0 || close < 0 || pairs.has(name)) throw malformed('bad XML declaration');
    pairs.set(name, decl.slice(v + 1, close));
    i = close + 1;
  }
  const order = [...pairs.keys()].join(' ');
  if (!['version', 'version encoding', 'version standalone', 'version encoding standalone'].includes(order)) {
    throw malformed('bad XML declaration');
  }
  if (pairs.get('version') !== '1.0') throw new StreamError('unsupported-version', 'only XML 1.0 is supported');
  const encoding = pairs.get('encoding');
  if (encoding !== undefined && encoding.toLowerCase() !== 'utf-8') {
    throw new StreamError('unsupported-encoding', 'only UTF-8 is supported');
  }
  const standalone = pairs.get('standalone');
  if (standalone !== undefined && standalone !== 'yes' && standalone !== 'no') throw malformed('bad XML declaration');
}
