import assert from 'node:assert/strict';
import { parse, type Element } from 'ltx';
import { NS_STREAM } from '../../../../xmpp/errors.ts';
import {
  buildSaslChallenge, buildSaslFailure, buildSaslSuccess, buildStreamFeatures, decodeSaslPayload, NS_SASL,
  type StreamFeatures,
} from '../../../../xmpp/protocol/stream-features.ts';
import { describeFixtures, type Codec } from './fixtures.ts';

/** The SASL payload as the UTF-8 text it carries; absent for an element without payload. */
interface SaslData { data?: string }

function readSaslData(el: Element): SaslData {
  const data = decodeSaslPayload(el);
  return data === null ? {} : { data: data.toString('utf8') };
}

const codecs = {
  // Features are only ever sent by the server, so they have a builder and no parser.
  features: { ns: NS_STREAM, build: buildStreamFeatures } satisfies Codec<StreamFeatures>,
  challenge: { ns: NS_SASL, parse: readSaslData, build: (v: SaslData) => buildSaslChallenge(Buffer.from(v.data ?? '', 'utf8')) } satisfies Codec<SaslData>,
  success: { ns: NS_SASL, parse: readSaslData, build: (v: SaslData) => buildSaslSuccess(v.data === undefined ? undefined : Buffer.from(v.data, 'utf8')) } satisfies Codec<SaslData>,
  failure: { ns: NS_SASL, build: (v: { condition: string; text?: string }) => buildSaslFailure(v.condition, v.text) } satisfies Codec<{ condition: string; text?: string }>,
};

describe('xmpp/protocol/stream-features (RFC 6120 §4.3, §5, §6, §7; XEP-0198; XEP-0478)', () => {
  describeFixtures('stream-features', codecs);

  describe('decodeSaslPayload (RFC 6120 §6.4.2)', () => {
    const sasl = (text: string) => parse(`<response xmlns="${NS_SASL}">${text}</response>`);

    it('reads no text as no payload', () => {
      assert.equal(decodeSaslPayload(sasl('')), null);
      assert.equal(decodeSaslPayload(sasl('  ')), null);
    });

    it('reads "=" as an empty payload', () => {
      assert.deepEqual(decodeSaslPayload(sasl('=')), Buffer.alloc(0));
    });

    it('decodes base64, ignoring surrounding whitespace', () => {
      assert.equal(decodeSaslPayload(sasl(' AGFsaWNlAHNlY3JldA== '))?.toString('utf8'), '\u0000alice\u0000secret');
    });

    it('refuses text that is not base64 with incorrect-encoding', () => {
      for (const bad of ['not base64!', 'AGFsaWNl\nAHNl', 'AGF', 'A=B=']) {
        assert.throws(() => decodeSaslPayload(sasl(bad)), /incorrect-encoding/, bad);
      }
    });
  });

  it('an empty challenge has no text (the client answers with an empty response)', () => {
    assert.equal(buildSaslChallenge(Buffer.alloc(0)).toString(), `<challenge xmlns="${NS_SASL}"/>`);
  });
});
