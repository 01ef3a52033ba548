/**
 * Table-driven round trips over test/fixtures/xmpp/<module>/*.xml, each with its expected parse
 * as the .json of the same name (STYLE.md, Tests). A fixture may be a whole stanza as the spec
 * shows it; the payload is then its first descendant in the codec's namespace. The file name up to its
 * first "-" picks the codec, so a fixture nobody claims fails instead of being skipped.
 * ltx Elements inside a parsed value (kept unknown extensions) compare as their canonical XML string.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Element, parse } from 'ltx';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/xmpp/', import.meta.url));

/** Method syntax on purpose: it lets a table hold codecs of different types as Codec<unknown>. */
export interface Codec<T> {
  /** The payload's namespace, used to find it inside a stanza. */
  ns: string;
  /** Absent for build-only payloads: the .json is then the builder's input. */
  parse?(payload: Element): T;
  /** `payload` is the fixture's payload, for builders that take more than the value (a namespace). */
  build(value: T, payload: Element): Element;
}

const STANZAS = new Set(['iq', 'message', 'presence']);

/** The first element in `ns`, depth first (a data form sits inside an ad-hoc command). */
function findByNamespace(el: Element, ns: string): Element | undefined {
  for (const child of el.getChildElements()) {
    if (child.attrs.xmlns === ns) return child;
    const found = findByNamespace(child, ns);
    if (found) return found;
  }
  return undefined;
}

function payloadOf(root: Element, ns: string): Element {
  if (!STANZAS.has(root.name)) return root;
  const payload = findByNamespace(root, ns);
  assert.ok(payload, `no <… xmlns="${ns}"> in ${root.toString()}`);
  return payload;
}

export interface FixtureOptions {
  /**
   * 'document' (the default): children compare in document order. 'by-name': siblings with different
   * element names may come in any relative order, while siblings with the same name keep theirs; for
   * payloads whose spec gives no order between kinds of children but does within one kind (Jingle:
   * `<group/>` before or after the contents, payload types in preference order).
   */
  siblingOrder?: 'document' | 'by-name';
}

/** Attribute order, whitespace-only text and surrounding whitespace do not count. */
export function canonicalXml(node: Element | string, options: FixtureOptions = {}): string {
  if (typeof node === 'string') return node.trim();
  const attrs = Object.keys(node.attrs)
    .filter((k) => node.attrs[k] !== undefined && node.attrs[k] !== null)
    .sort()
    .map((k) => `${k}="${String(node.attrs[k])}"`);
  const children = node.children.filter((c) => typeof c !== 'string' || c.trim() !== '');
  if (options.siblingOrder === 'by-name') {
    const key = (c: Element | string) => (typeof c === 'string' ? '' : c.name);
    children.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }
  return `<${[node.name, ...attrs].join(' ')}>${children.map((c) => canonicalXml(c, options)).join('')}</${node.name}>`;
}

export function assertSameXml(actual: Element, expected: Element, options: FixtureOptions = {}): void {
  assert.equal(canonicalXml(actual, options), canonicalXml(expected, options));
}

/** A parsed value as its .json can state it: Elements become their canonical XML. */
function comparable(value: unknown): unknown {
  if (value instanceof Element) return canonicalXml(value);
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
  }
  return value;
}

/** Declares one test per fixture of `module`; every fixture must match a codec by its prefix. */
export function describeFixtures(module: string, codecs: Record<string, Codec<unknown>>, options: FixtureOptions = {}): void {
  const dir = join(FIXTURES, module);
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.xml')).sort() : [];

  describe(`fixtures in test/fixtures/xmpp/${module}`, () => {
    it('exist, each with its .json, and cover every codec', () => {
      assert.ok(files.length > 0, `no fixtures in ${dir}`);
      for (const file of files) assert.ok(existsSync(join(dir, file.replace(/\.xml$/, '.json'))), `${file} has no .json`);
      for (const prefix of Object.keys(codecs)) {
        assert.ok(files.some((f) => f.startsWith(`${prefix}-`)), `no fixture for codec "${prefix}"`);
      }
    });

    for (const file of files) {
      const name = basename(file, '.xml');
      const prefix = name.slice(0, name.indexOf('-'));
      const codec = codecs[prefix];
      const load = () => {
        assert.ok(codec, `no codec for the prefix of ${file} (known: ${Object.keys(codecs).join(', ')})`);
        const root = parse(readFileSync(join(dir, file), 'utf8'));
        const expected: unknown = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
        return { codec, payload: payloadOf(root, codec.ns), expected };
      };

      if (codec?.parse) {
        it(`${name}: parses to the .json`, () => {
          const { codec: c, payload, expected } = load();
          assert.deepEqual(comparable(c.parse!(payload)), expected);
        });
      }
      it(`${name}: builds ${codec?.parse ? 'the parsed value' : 'the .json'} back into the same XML`, () => {
        const { codec: c, payload, expected } = load();
        const value = c.parse ? c.parse(payload) : expected;
        assertSameXml(c.build(value, payload), payload, options);
      });
    }
  });
}
