// Tests for the XMPP stream parser: valid input, every rejection with its stream error condition,
// limits, chunking independence and the reset/dead lifecycle.
import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { StreamError, type StreamErrorCondition } from '../../../xmpp/errors.ts';
import { XmlParser, defaultClientLimits, type XmlParserLimits } from '../../../xmpp/xml-parser.ts';

const HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'" +
  " to='meet.jitsi' version='1.0' xml:lang='en'>";

/** Parses `input` as written in `chunks`, recording every event as a line of text. */
function run(chunks: (string | Uint8Array)[], rooted: boolean, limits: XmlParserLimits = defaultClientLimits) {
  const events: string[] = [];
  const stanzas: Element[] = [];
  const parser = new XmlParser(
    {
      streamOpen: (name, attrs) => events.push(`open ${name} ${JSON.stringify(attrs)}`),
      stanza: (el, bytes) => {
        stanzas.push(el);
        events.push(`stanza ${bytes} ${el.toString()}`);
      },
      streamClose: () => events.push('close'),
    },
    { limits, rooted },
  );
  for (const chunk of chunks) parser.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return { parser, events, stanzas };
}

function bytes(input: string | Uint8Array): Buffer {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
}

/** Every stanza of one write, serialized. */
function stanzasOf(input: string | Uint8Array, rooted: boolean): string[] {
  return run([bytes(input)], rooted).stanzas.map((el) => el.toString());
}

function oneByteAtATime(input: string | Uint8Array): Buffer[] {
  const all = bytes(input);
  return Array.from(all, (_, i) => all.subarray(i, i + 1));
}

function assertCondition(chunks: (string | Uint8Array)[], rooted: boolean, condition: StreamErrorCondition, limits?: XmlParserLimits) {
  assert.throws(() => run(chunks, rooted, limits), { name: 'StreamError', condition });
}

/** Bytes from text and raw byte values, to build invalid UTF-8. */
const utf8 = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

describe('XmlParser', () => {
  describe('accepts valid XMPP', () => {
    const cases: { title: string; rooted: boolean; input: string | Buffer; expect: string[] }[] = [
      {
        title: 'a stanza under the stream header gets the root default namespace',
        rooted: true,
        input: `${HEADER}<message to='a@meet.jitsi' id="m1"><body>hi</body></message>`,
        expect: ['<message xmlns="jabber:client" to="a@meet.jitsi" id="m1"><body>hi</body></message>'],
      },
      {
        title: 'whitespace keepalives between stanzas are ignored',
        rooted: true,
        input: `${HEADER} \n\t\r\n<presence/> \n <iq type="get" id="1"/>\n`,
        expect: ['<presence xmlns="jabber:client"/>', '<iq xmlns="jabber:client" type="get" id="1"/>'],
      },
      {
        title: "a prefix declared on the root is copied onto the stanza that uses it",
        rooted: true,
        input: `${HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>`,
        expect: [
          '<stream:features xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">' +
            '<bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></stream:features>',
        ],
      },
      {
        title: 'an explicit xmlns on the stanza wins over the root default',
        rooted: true,
        input: `${HEADER}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>`,
        expect: ['<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>'],
      },
      {
        title: 'prefixes declared inside the stanza, and xml:, need no root declaration',
        rooted: false,
        input: `<iq xmlns='jabber:client'><q xmlns:d='urn:x'><d:item d:attr='v' xml:lang='fr'/></q></iq>`,
        expect: ['<iq xmlns="jabber:client"><q xmlns:d="urn:x"><d:item d:attr="v" xml:lang="fr"/></q></iq>'],
      },
      {
        title: 'the five predefined entities and character references are unescaped',
        rooted: false,
        input: `<m a='&lt;&gt;&amp;&quot;&apos;'>&lt;&gt;&amp;&quot;&apos; &#65;&#x42;&#x0043;&#x1F600;&#233;</m>`,
        expect: [`<m a="&lt;&gt;&amp;&quot;&apos;">&lt;&gt;&amp;"' ABC😀é</m>`],
      },
      {
        title: 'CDATA becomes text joined with the text around it',
        rooted: false,
        input: '<body>a <![CDATA[<b>&amp;]]]]><![CDATA[>]]> z</body>',
        expect: ['<body>a &lt;b&gt;&amp;amp;]]&gt; z</body>'],
      },
      {
        title: 'multi-byte UTF-8 (2, 3 and 4 bytes) in names, text and attributes',
        rooted: false,
        input: '<nick xmlns="http://jabber.org/protocol/nick" é="Zoë 😀">Zoë 日本 😀</nick>',
        expect: ['<nick xmlns="http://jabber.org/protocol/nick" é="Zoë 😀">Zoë 日本 😀</nick>'],
      },
      {
        title: 'both quote kinds, and the other quote inside a value',
        rooted: false,
        input: `<a x='say "hi"' y="it's" z = 'w'/>`,
        expect: [`<a x="say &quot;hi&quot;" y="it&apos;s" z="w"/>`],
      },
      {
        title: 'whitespace-only text inside a stanza is kept',
        rooted: false,
        input: '<message><body>  \n </body> </message>',
        expect: ['<message><body>  \n </body> </message>'],
      },
      {
        title: "'>' is allowed in text and attribute values",
        rooted: false,
        input: "<a b='x>y'>1 > 0 ]> ]</a>",
        expect: ['<a b="x&gt;y">1 &gt; 0 ]&gt; ]</a>'],
      },
      {
        title: 'line ends are normalized (XML 1.0 §2.11) and attribute whitespace becomes spaces (§3.3.3)',
        rooted: false,
        input: '<a v="x\r\ny\tz&#10;">1\r\n2\r3&#13;</a>',
        expect: ['<a v="x y z\n">1\n2\n3\r</a>'],
      },
      {
        title: 'WebSocket framing: open, a stanza and close in one write',
        rooted: false,
        input:
          '<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>' +
          '<iq xmlns="jabber:client" type="get" id="p"><ping xmlns="urn:xmpp:ping"/></iq>' +
          '<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>',
        expect: [
          '<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>',
          '<iq xmlns="jabber:client" type="get" id="p"><ping xmlns="urn:xmpp:ping"/></iq>',
          '<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>',
        ],
      },
      {
        title: 'a UTF-8 BOM and an XML declaration at the very start (encoding case-insensitive)',
        rooted: false,
        input: utf8([0xef, 0xbb, 0xbf], `<?xml version="1.0" encoding="utf-8" standalone='yes' ?>\n<a/>`),
        expect: ['<a/>'],
      },
    ];
    for (const c of cases) {
      it(c.title, () => assert.deepEqual(stanzasOf(c.input, c.rooted), c.expect));
    }

    it('reports the stream header with its attributes as written, and the stream end', () => {
      const { events } = run([`${HEADER}<presence/></stream:stream>\n`], true);
      assert.deepEqual(events, [
        'open stream:stream {"xmlns":"jabber:client","xmlns:stream":"http://etherx.jabber.org/streams",' +
          '"to":"meet.jitsi","version":"1.0","xml:lang":"en"}',
        'stanza 11 <presence xmlns="jabber:client"/>',
        'close',
      ]);
    });

    it('emits elements that stand alone: namespaces resolve after detaching', () => {
      const [iq] = run([`${HEADER}<iq id='1'><stream:x/></iq>`], true).stanzas;
      assert.ok(iq);
      assert.equal(iq.parent, null);
      assert.equal(iq.getNS(), 'jabber:client');
      assert.equal(iq.getChild('x')?.getNS(), 'http://etherx.jabber.org/streams');
    });

    it('counts bytes from the start tag to the end tag inclusive, multi-byte characters as their bytes', () => {
      const stanza = '<m>é😀</m>';
      const { events } = run([`  ${stanza} `], false);
      assert.deepEqual(events, [`stanza ${Buffer.byteLength(stanza)} ${stanza}`]);
    });

    it('keeps an attribute named __proto__ as a plain attribute', () => {
      const [el] = run(['<a __proto__="x" constructor="y"/>'], false).stanzas;
      assert.ok(el);
      assert.equal(Object.getPrototypeOf(el.attrs), Object.prototype);
      assert.deepEqual(Object.entries(el.attrs), [['__proto__', 'x'], ['constructor', 'y']]);
    });

    it('accepts Uint8Array chunks that are not Buffers', () => {
      const data = new TextEncoder().encode('<a>ü</a>');
      assert.deepEqual(run([data.subarray(0, 4), data.subarray(4)], false).events, ['stanza 9 <a>ü</a>']);
    });
  });

  describe('gives the same result whatever the chunking', () => {
    const presence =
      `<presence xmlns='jabber:client' to='room@conference.meet.jitsi/abcd1234' id='pres-1'>` +
      `<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x>` +
      `<stats-id>Zoë-42</stats-id>` +
      `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://jitsi.org/jitsi-meet' ver='cvjWXufsg4xT62Ec2mlATkFZ9lk='/>` +
      `<SourceInfo>{"abcd1234-a0":{"muted":false},"abcd1234-v0":{"muted":true,"videoType":"camera"}}</SourceInfo>` +
      `<nick xmlns='http://jabber.org/protocol/nick'>Zoë &amp; 日本 😀 &#x1F3A5;</nick>` +
      `<jitsi_participant_codecList>vp9,vp8,h264</jitsi_participant_codecList>` +
      `<body><![CDATA[a]]b]]>\r\n</body><audiomuted>false</audiomuted><videomuted a="é&#10;">true</videomuted>` +
      `</presence>`;
    const inputs: [string, boolean, Buffer][] = [
      ['rootless', false, Buffer.from(`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>${presence} ${presence}`)],
      ['rooted', true, Buffer.from(`${HEADER}\n${presence} ${presence}</stream:stream>`)],
    ];
    for (const [mode, rooted, input] of inputs) {
      const whole = run([input], rooted).events;

      it(`${mode}: a split at every byte offset parses identically`, () => {
        assert.equal(whole.length, rooted ? 4 : 3);
        for (let k = 0; k <= input.length; k++) {
          assert.deepEqual(run([input.subarray(0, k), input.subarray(k)], rooted).events, whole, `split at ${k}`);
        }
      });

      it(`${mode}: one byte per write parses identically`, () => {
        assert.deepEqual(run(oneByteAtATime(input), rooted).events, whole);
      });
    }
  });

  describe('gives the same result whatever the chunking, also for broken input', () => {
    /** Deterministic PRNG (mulberry32), so a failure names a reproducible case. */
    function random(seed: number): (n: number) => number {
      return (n) => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) % n;
      };
    }
    const stanzas = [
      `<presence to='room@conference.meet.jitsi/abc' id='p1'><x xmlns='http://jabber.org/protocol/muc'/>` +
        `<nick xmlns='n'>Zoë &amp; 😀 &#x41;</nick><stream:x/></presence>`,
      `<message type="chat"><body><![CDATA[a<b]]>\r\nx]</body></message>`,
      `<iq type='get' id='1'><q xmlns:p='urn:p'><p:i p:a='1' xml:lang='en'/></q></iq>`,
    ];
    const noise = Buffer.from('<>/!?[]-&;#x"\'= \r\n\tab:é\u0000\uFFFE😀');
    const small = { maxStanzaBytes: 200, maxDepth: 4, maxAttributes: 3, maxAttributeBytes: 30, maxHeaderBytes: 150 };

    /** The events, then the error condition if any; anything but a StreamError fails the test. */
    function outcome(chunks: Buffer[], rooted: boolean, limits: XmlParserLimits): string[] {
      const events: string[] = [];
      const parser = new XmlParser(
        {
          streamOpen: (name, attrs) => events.push(`open ${name} ${JSON.stringify(attrs)}`),
          stanza: (el, bytes) => events.push(`stanza ${bytes} ${el.toString()}`),
          streamClose: () => events.push('close'),
        },
        { limits, rooted },
      );
      try {
        for (const chunk of chunks) parser.write(chunk);
      } catch (err) {
        if (!(err instanceof StreamError)) throw err;
        events.push(`error ${err.condition}`);
      }
      return events;
    }

    it('mutated stanzas: one write and random splits give the same events and the same error', () => {
      const rnd = random(20240607);
      const endings = new Set<string>();
      for (let round = 0; round < 600; round++) {
        const rooted = rnd(2) === 0;
        const body = Array.from({ length: 1 + rnd(3) }, () => stanzas[rnd(stanzas.length)]).join(' ');
        let doc = Buffer.from(`${rooted ? HEADER : ''}${body}${rooted && rnd(2) ? '</stream:stream>' : ''}`);
        for (let m = rnd(4); m > 0; m--) {
          const at = rnd(doc.length);
          const kind = rnd(3);
          if (kind === 0) doc[at] = rnd(256);
          else if (kind === 1) {
            const start = rnd(noise.length);
            doc = Buffer.concat([doc.subarray(0, at), noise.subarray(start, start + 1 + rnd(3)), doc.subarray(at)]);
          }
          else doc = Buffer.concat([doc.subarray(0, at), doc.subarray(at + 1 + rnd(5))]);
        }
        const limits = rnd(3) === 0 ? small : defaultClientLimits;
        const chunks: Buffer[] = [];
        for (let off = 0; off < doc.length; ) {
          const n = 1 + rnd(rnd(2) ? 3 : 50);
          chunks.push(doc.subarray(off, off + n));
          off += n;
        }
        const whole = outcome([doc], rooted, limits);
        assert.deepEqual(outcome(chunks, rooted, limits), whole, `round ${round}: ${JSON.stringify(doc.toString('latin1'))}`);
        const last = whole[whole.length - 1] ?? '';
        endings.add(last.startsWith('error ') ? last : 'no error');
      }
      // The mutations must have produced both accepted input and each kind of rejection.
      for (const ending of ['no error', 'error not-well-formed', 'error policy-violation', 'error bad-namespace-prefix']) {
        assert.ok(endings.has(ending), ending);
      }
    });
  });

  describe('rejects', () => {
    const cases: { title: string; rooted?: boolean; input: string | Buffer; condition: StreamErrorCondition }[] = [
      // Encoding (RFC 6120 §11.6) and UTF-8 validity.
      { title: 'a lone continuation byte', input: utf8('<a>', [0x80], '</a>'), condition: 'not-well-formed' },
      { title: 'an overlong 2-byte sequence', input: utf8('<a>', [0xc0, 0xaf], '</a>'), condition: 'not-well-formed' },
      { title: 'an overlong 3-byte sequence', input: utf8('<a>', [0xe0, 0x80, 0xaf], '</a>'), condition: 'not-well-formed' },
      { title: 'an encoded surrogate', input: utf8('<a>', [0xed, 0xa0, 0x80], '</a>'), condition: 'not-well-formed' },
      { title: 'a code point above U+10FFFF', input: utf8('<a>', [0xf4, 0x90, 0x80, 0x80], '</a>'), condition: 'not-well-formed' },
      { title: 'a truncated sequence', input: utf8('<a>', [0xe6, 0x97], '</a>'), condition: 'not-well-formed' },
      { title: 'invalid UTF-8 in an attribute value', input: utf8('<a b="', [0xff], '"/>'), condition: 'not-well-formed' },
      { title: 'invalid UTF-8 in a name', input: utf8('<a', [0xc3, 0x28], '/>'), condition: 'not-well-formed' },
      { title: 'U+0000 in text', input: utf8('<a>', [0], '</a>'), condition: 'not-well-formed' },
      { title: 'a C0 control in an attribute', input: utf8('<a b="', [1], '"/>'), condition: 'not-well-formed' },
      { title: 'U+FFFE in text', input: utf8('<a>', [0xef, 0xbf, 0xbe], '</a>'), condition: 'not-well-formed' },
      { title: 'U+FFFF in an attribute', input: utf8('<a b="', [0xef, 0xbf, 0xbf], '"/>'), condition: 'not-well-formed' },
      { title: '&#0;', input: '<a>&#0;</a>', condition: 'not-well-formed' },
      { title: '&#x1; in an attribute', input: '<a b="&#x1;"/>', condition: 'not-well-formed' },
      { title: 'a reference to a surrogate', input: '<a>&#xD800;</a>', condition: 'not-well-formed' },
      { title: 'a reference to U+FFFE', input: '<a>&#xFFFE;</a>', condition: 'not-well-formed' },
      { title: 'a reference above U+10FFFF', input: '<a>&#x110000;</a>', condition: 'not-well-formed' },
      { title: 'a UTF-16 LE byte order mark', rooted: true, input: utf8([0xff, 0xfe], '<'), condition: 'unsupported-encoding' },
      { title: 'a UTF-16 BE byte order mark', input: utf8([0xfe, 0xff], '<'), condition: 'unsupported-encoding' },
      { title: 'UTF-16 BE without a BOM', rooted: true, input: utf8([0, 0x3c, 0, 0x3f]), condition: 'unsupported-encoding' },
      { title: 'UTF-16 LE without a BOM', rooted: true, input: utf8([0x3c, 0, 0x3f, 0]), condition: 'not-well-formed' },
      { title: 'a NUL byte between stanzas', input: utf8('<a/>', [0]), condition: 'not-well-formed' },
      // Restricted XML (RFC 6120 §11.1).
      { title: 'a DOCTYPE before the root', rooted: true, input: "<?xml version='1.0'?><!DOCTYPE stream>", condition: 'restricted-xml' },
      { title: 'a DOCTYPE between stanzas', input: '<a/><!DOCTYPE a>', condition: 'restricted-xml' },
      { title: 'a DOCTYPE inside a stanza', input: '<a><!DOCTYPE a></a>', condition: 'restricted-xml' },
      { title: 'an ENTITY declaration', input: '<a><!ENTITY x "y"></a>', condition: 'restricted-xml' },
      { title: 'a comment before the root', rooted: true, input: '<!-- hi --><stream:stream>', condition: 'restricted-xml' },
      { title: 'a comment inside a stanza', input: '<a><!-- hi --></a>', condition: 'restricted-xml' },
      { title: 'a processing instruction inside a stanza', input: '<a><?php x?></a>', condition: 'restricted-xml' },
      { title: 'a processing instruction at the start', input: '<?xml-stylesheet href="x"?><a/>', condition: 'restricted-xml' },
      { title: 'a second XML declaration', input: "<?xml version='1.0'?><a/><?xml version='1.0'?>", condition: 'restricted-xml' },
      { title: 'an XML declaration after the root', rooted: true, input: `${HEADER}<?xml version='1.0'?>`, condition: 'restricted-xml' },
      { title: 'an XML declaration after whitespace', rooted: true, input: " <?xml version='1.0'?>", condition: 'restricted-xml' },
      { title: 'XML version 1.1', rooted: true, input: "<?xml version='1.1'?>", condition: 'unsupported-version' },
      { title: 'encoding UTF-16', rooted: true, input: "<?xml version='1.0' encoding='UTF-16'?>", condition: 'unsupported-encoding' },
      { title: 'encoding ISO-8859-1', input: '<?xml version="1.0" encoding="ISO-8859-1"?>', condition: 'unsupported-encoding' },
      { title: 'an XML declaration without version', input: "<?xml encoding='UTF-8'?>", condition: 'not-well-formed' },
      { title: 'an XML declaration with attributes out of order', input: "<?xml encoding='UTF-8' version='1.0'?>", condition: 'not-well-formed' },
      // Entities.
      { title: 'an undefined entity', input: '<a>&nbsp;</a>', condition: 'not-well-formed' },
      { title: 'an undefined entity in an attribute', input: '<a b="&x;"/>', condition: 'not-well-formed' },
      { title: 'an unescaped ampersand', input: '<a>fish & chips</a>', condition: 'not-well-formed' },
      { title: 'an unterminated reference', input: '<a>&amp</a>', condition: 'not-well-formed' },
      { title: 'an empty character reference', input: '<a>&#;</a>', condition: 'not-well-formed' },
      { title: 'a character reference with bad digits', input: '<a>&#x12G;</a>', condition: 'not-well-formed' },
      { title: "a character reference with an uppercase 'X'", input: '<a>&#X43;</a>', condition: 'not-well-formed' },
      // Well-formedness.
      { title: 'a mismatched end tag', input: '<a><b></a></b>', condition: 'not-well-formed' },
      { title: 'a duplicate attribute', input: '<a b="1" b="2"/>', condition: 'not-well-formed' },
      { title: 'an unquoted attribute value', input: '<a b=1/>', condition: 'not-well-formed' },
      { title: 'an attribute without a value', input: '<a b/>', condition: 'not-well-formed' },
      { title: "'<' in an attribute value", input: '<a b="<"/>', condition: 'not-well-formed' },
      { title: 'attributes without whitespace between them', input: '<a b="1"c="2"/>', condition: 'not-well-formed' },
      { title: 'a name starting with a digit', input: '<1a/>', condition: 'not-well-formed' },
      { title: 'an empty end tag', input: '<a></>', condition: 'not-well-formed' },
      { title: "']]>' in text", input: '<a>x]]>y</a>', condition: 'not-well-formed' },
      { title: 'a qualified name with two colons', input: '<a:b:c xmlns:a="u"/>', condition: 'not-well-formed' },
      { title: 'an empty prefix declaration', input: '<a xmlns:p=""/>', condition: 'not-well-formed' },
      { title: 'an undeclared element prefix', input: '<foo:bar/>', condition: 'bad-namespace-prefix' },
      { title: 'an undeclared attribute prefix', input: '<a foo:b="1"/>', condition: 'bad-namespace-prefix' },
      { title: 'an undeclared stream prefix on the root', rooted: true, input: "<stream:stream xmlns='jabber:client'>", condition: 'bad-namespace-prefix' },
      { title: "a prefix declared only in a previous stanza", input: '<a xmlns:p="u"/><p:b/>', condition: 'bad-namespace-prefix' },
      { title: 'a prefix used outside the element declaring it', input: '<a><b xmlns:p="u"/><p:c/></a>', condition: 'bad-namespace-prefix' },
      // Stream structure.
      { title: 'text between stanzas under the root', rooted: true, input: `${HEADER}hello`, condition: 'not-well-formed' },
      { title: 'text between top-level elements', input: '<a/>hello', condition: 'not-well-formed' },
      { title: 'a reference between stanzas', rooted: true, input: `${HEADER}&amp;`, condition: 'not-well-formed' },
      { title: 'CDATA between stanzas', input: '<a/><![CDATA[x]]>', condition: 'not-well-formed' },
      { title: 'an end tag without a start tag', input: '</a>', condition: 'not-well-formed' },
      { title: 'a root end tag that does not match', rooted: true, input: `${HEADER}</stream:other>`, condition: 'not-well-formed' },
      { title: 'a second root element', rooted: true, input: `${HEADER}</stream:stream>${HEADER}`, condition: 'not-well-formed' },
      { title: 'content after the stream end', rooted: true, input: `${HEADER}</stream:stream><presence/>`, condition: 'not-well-formed' },
      { title: 'text after the stream end', rooted: true, input: `${HEADER}</stream:stream> x`, condition: 'not-well-formed' },
    ];
    for (const c of cases) {
      it(`${c.title} with ${c.condition}`, () => assertCondition([c.input], c.rooted ?? false, c.condition));
    }

    it('every case above with the same condition when fed one byte per write', () => {
      for (const c of cases) {
        assert.throws(() => run(oneByteAtATime(c.input), c.rooted ?? false), { name: 'StreamError', condition: c.condition }, c.title);
      }
    });

    it('a DOCTYPE from its first three bytes, so nothing of the DTD is buffered', () => {
      assertCondition(['<!D'], false, 'restricted-xml');
      assertCondition(["<?xml version='1.0'?>", '<!', 'D'], true, 'restricted-xml');
    });

    it('the billion laughs DTD with restricted-xml and no expansion', () => {
      const lol = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE lolz [',
        ' <!ENTITY lol "lol">',
        ...Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`),
        ']>',
        '<lolz>&lol9;</lolz>',
      ].join('\n');
      assertCondition([lol], false, 'restricted-xml');
      assertCondition([lol], true, 'restricted-xml');
    });
  });

  describe('enforces limits with policy-violation', () => {
    const max = defaultClientLimits.maxStanzaBytes;
    /** A message of exactly n bytes. */
    const message = (n: number) => `<message><body>${'x'.repeat(n - 32)}</body></message>`;

    it('accepts a stanza of exactly maxStanzaBytes and rejects one byte more', () => {
      assert.equal(Buffer.byteLength(message(max)), max);
      assert.deepEqual(run([message(max)], false).events.map((e) => e.slice(0, 14)), [`stanza ${max} `]);
      assertCondition([message(max + 1)], false, 'policy-violation');
      assertCondition([`${HEADER}${message(max + 1)}`], true, 'policy-violation');
    });

    it('counts the limit the same for a self-closing stanza', () => {
      const limits = { ...defaultClientLimits, maxStanzaBytes: 20 };
      assert.deepEqual(run([`<a b="${'y'.repeat(11)}"/>`], false, limits).events, [`stanza 20 <a b="${'y'.repeat(11)}"/>`]);
      assertCondition([`<a b="${'y'.repeat(12)}"/>`], false, 'policy-violation', limits);
    });

    it('rejects a stanza as soon as it passes the limit, before it ends', () => {
      assertCondition([message(max + 1).slice(0, max + 1)], false, 'policy-violation');
    });

    for (const [what, open] of [
      ['text', '<message><body>'],
      ['CDATA', '<message><body><![CDATA['],
      ['an attribute value', `<message id='`],
    ] as const) {
      it(`rejects a 10 MiB stanza of ${what} in 64 KiB writes after about 256 KiB`, () => {
        const limits = { ...defaultClientLimits, maxAttributeBytes: 16 << 20 };
        const parser = new XmlParser({ streamOpen() {}, stanza() {}, streamClose() {} }, { limits, rooted: false });
        const piece = Buffer.alloc(64 * 1024, 'x');
        parser.write(Buffer.from(open));
        let written = open.length;
        assert.throws(() => {
          while (written < 10 << 20) {
            written += piece.length;
            parser.write(piece);
          }
        }, { condition: 'policy-violation' });
        assert.ok(written > max && written <= max + piece.length, `rejected after ${written} bytes`);
      });
    }

    it('rejects nesting deeper than maxDepth, without recursion at 10,000 levels', () => {
      assertCondition(['<a>'.repeat(10_000)], false, 'policy-violation');
      const deep = '<a>'.repeat(65) + '</a>'.repeat(65);
      assertCondition([deep], false, 'policy-violation');
      assert.equal(run(['<a>'.repeat(64) + '</a>'.repeat(64)], false).stanzas.length, 1);
      // ltx's toString() recurses, so this handler only keeps the element.
      const stanzas: Element[] = [];
      const parser = new XmlParser(
        { streamOpen() {}, stanza: (el) => stanzas.push(el), streamClose() {} },
        { limits: { ...defaultClientLimits, maxDepth: 20_000 }, rooted: false },
      );
      parser.write(Buffer.from('<a>'.repeat(10_000) + 'x' + '</a>'.repeat(10_000)));
      let depth = 0;
      for (let el: Element | undefined = stanzas[0]; el; el = el.getChild('a')) depth++;
      assert.equal(depth, 10_000);
    });

    it('rejects more than maxAttributes attributes (10,000 of them)', () => {
      const attrs = (n: number) => Array.from({ length: n }, (_, i) => ` a${i}="${i}"`).join('');
      assertCondition([`<a${attrs(10_000)}/>`], false, 'policy-violation');
      assertCondition([`<a${attrs(65)}/>`], false, 'policy-violation');
      assert.equal(run([`<a${attrs(64)}/>`], false).stanzas.length, 1);
    });

    it('rejects an attribute whose name plus value passes maxAttributeBytes', () => {
      const limit = defaultClientLimits.maxAttributeBytes;
      assert.equal(run([`<a b="${'v'.repeat(limit - 1)}"/>`], false).stanzas.length, 1);
      assertCondition([`<a b="${'v'.repeat(limit)}"/>`], false, 'policy-violation');
      assertCondition([`<a ${'n'.repeat(200_000)}="1"/>`], false, 'policy-violation');
      assertCondition([`<a ${'n'.repeat(200_000)}`], false, 'policy-violation');
    });

    it('rejects a stream header longer than maxHeaderBytes, also when it arrives in pieces', () => {
      const limit = defaultClientLimits.maxHeaderBytes;
      const header = (n: number) => {
        const start = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' x='";
        return `${start}${'h'.repeat(n - start.length - 2)}'>`;
      };
      assert.equal(Buffer.byteLength(header(limit)), limit);
      assert.equal(run([header(limit)], true).events.length, 1);
      assertCondition([header(limit + 1)], true, 'policy-violation');
      assertCondition(oneByteAtATime(header(limit + 1)).slice(0, limit + 1), true, 'policy-violation');
      assertCondition([`<?xml version='1.0' ${' '.repeat(limit)}?>`], true, 'policy-violation');
    });
  });

  describe('lifecycle', () => {
    it('reset() forgets the stream, so a new declaration and header follow', () => {
      const { parser, events } = run([`${HEADER}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>`], true);
      parser.reset();
      parser.write(Buffer.from(`${HEADER}<iq id='b'/>`));
      assert.deepEqual(
        events.map((e) => e.split(' ')[0]),
        ['open', 'stanza', 'open', 'stanza'],
      );
      assert.equal(events[3], `stanza 12 <iq xmlns="jabber:client" id="b"/>`);
    });

    it('reset() from a stanza handler parses the rest of the same write as the new stream', () => {
      const events: string[] = [];
      const parser: XmlParser = new XmlParser(
        {
          streamOpen: (name) => events.push(`open ${name}`),
          stanza: (el) => {
            events.push(el.name);
            if (el.name === 'auth') parser.reset();
          },
          streamClose: () => events.push('close'),
        },
        { limits: defaultClientLimits, rooted: true },
      );
      parser.write(Buffer.from(`${HEADER}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>${HEADER}<iq/></stream:stream>`));
      assert.deepEqual(events, ['open stream:stream', 'auth', 'open stream:stream', 'iq', 'close']);
    });

    it('reset() in rootless mode allows a new XML declaration', () => {
      const { parser, events } = run(["<?xml version='1.0'?><open/>"], false);
      parser.reset();
      parser.write(Buffer.from("<?xml version='1.0'?><open/>"));
      assert.deepEqual(events, ['stanza 7 <open/>', 'stanza 7 <open/>']);
    });

    it('is dead after an error: every later write throws the same error', () => {
      const { parser } = run([], false);
      let first: unknown;
      assert.throws(() => {
        try {
          parser.write(Buffer.from('<a><!-- x --></a>'));
        } catch (err) {
          first = err;
          throw err;
        }
      }, StreamError);
      assert.throws(() => parser.write(Buffer.from('<b/>')), (err) => err === first);
      parser.reset();
      assert.throws(() => parser.write(Buffer.from('<b/>')), (err) => err === first);
    });

    it('an exception from an event handler propagates and kills the parser', () => {
      const boom = new Error('handler failed');
      const parser = new XmlParser(
        { streamOpen() {}, stanza() { throw boom; }, streamClose() {} },
        { limits: defaultClientLimits, rooted: false },
      );
      assert.throws(() => parser.write(Buffer.from('<a/>')), (err) => err === boom);
      assert.throws(() => parser.write(Buffer.from('<a/>')), (err) => err === boom);
    });

    it('refuses limits that are not positive integers', () => {
      assert.throws(
        () =>
          new XmlParser(
            { streamOpen() {}, stanza() {}, streamClose() {} },
            { limits: { ...defaultClientLimits, maxDepth: 0 }, rooted: true },
          ),
        RangeError,
      );
    });
  });
});
