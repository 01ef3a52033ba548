/** linkify: which parts of chat text become links, and that nothing else does. */
import assert from 'node:assert/strict';
import { linkify, type Segment } from '../../../web/client/ui/chat/linkify.ts';

const text = (t: string): Segment => ({ kind: 'text', text: t });
const link = (t: string, href = new URL(t).href): Segment => ({ kind: 'link', text: t, href });

describe('linkify', () => {
  const cases: Array<[string, Segment[]]> = [
    ['no link here', [text('no link here')]],
    ['', []],
    ['https://example.org', [link('https://example.org', 'https://example.org/')]],
    ['see http://a.example/x?y=1 now', [text('see '), link('http://a.example/x?y=1'), text(' now')]],
    ['https://example.org/a?b=1&c=<x>', [link('https://example.org/a?b=1&c='), text('<x>')]],
    ['end of sentence https://example.org/page.', [text('end of sentence '), link('https://example.org/page'), text('.')]],
    ['(https://example.org/x)', [text('('), link('https://example.org/x'), text(')')]],
    ['https://en.wikipedia.org/wiki/Foo_(bar)', [link('https://en.wikipedia.org/wiki/Foo_(bar)')]],
    ['two https://a.example and https://b.example', [text('two '), link('https://a.example', 'https://a.example/'), text(' and '), link('https://b.example', 'https://b.example/')]],
    ['HTTPS://EXAMPLE.ORG/Up', [link('HTTPS://EXAMPLE.ORG/Up', 'https://example.org/Up')]],
    ['javascript:alert(1)', [text('javascript:alert(1)')]],
    ['javascript:https://example.org', [text('javascript:'), link('https://example.org', 'https://example.org/')]],
    ['xhttps://example.org', [text('xhttps://example.org')]],
    ['https://', [text('https://')]],
    ['https:// space', [text('https:// space')]],
    ['<script>alert(1)</script>', [text('<script>alert(1)</script>')]],
    ['"https://example.org/q"', [text('"'), link('https://example.org/q'), text('"')]],
  ];
  for (const [input, expected] of cases) {
    it(`splits ${JSON.stringify(input)}`, () => {
      assert.deepEqual(linkify(input), expected);
    });
  }

  it('keeps every character of the input, in order', () => {
    const input = 'a https://x.example/1, b http://y.example/(2) c <d> https://z.example.';
    assert.equal(linkify(input).map((s) => s.text).join(''), input);
  });

  it('only ever produces http or https hrefs', () => {
    const input = 'data:text/html,hi vbscript:x file:///etc/passwd ftp://x.example https://ok.example';
    const hrefs = linkify(input).flatMap((s) => (s.kind === 'link' ? [s.href] : []));
    assert.deepEqual(hrefs, ['https://ok.example/']);
  });
});
