import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import {
  buildDocumentGrant, buildDocumentRequest, buildEtherpad, NS_DOCUMENT, NS_ETHERPAD, parseDocumentGrant, parseDocumentRequest,
  parseEtherpad, type DocumentGrant, type DocumentRequest,
} from '../../../../xmpp/protocol/salon-document.ts';
import { describeFixtures, type Codec } from './fixtures.ts';

const request: Codec<DocumentRequest> = { ns: NS_DOCUMENT, parse: parseDocumentRequest, build: buildDocumentRequest };
const grant: Codec<DocumentGrant> = { ns: NS_DOCUMENT, parse: parseDocumentGrant, build: buildDocumentGrant };
const etherpad: Codec<string> = { ns: NS_ETHERPAD, parse: parseEtherpad, build: buildEtherpad };

function assertBadRequest(fn: () => unknown, mention: string): void {
  assert.throws(fn, (err: unknown) => err instanceof StanzaError && err.condition === 'bad-request' && err.message.includes(mention));
}

const grantXml = (attrs: Record<string, string>): string =>
  `<document xmlns="${NS_DOCUMENT}" ${Object.entries({ room: 'r@muc', path: '/pad/x', token: 't.s', expires: '2025-01-01T00:00:00Z', ...attrs })
    .map(([k, v]) => `${k}="${v}"`).join(' ')}/>`;

describe('xmpp/protocol/salon-document (shared document access)', () => {
  describeFixtures('salon-document', { request, grant, etherpad });

  it('refuses a request without room, or in another namespace', () => {
    assertBadRequest(() => parseDocumentRequest(parse(`<document xmlns="${NS_DOCUMENT}"/>`)), "'room'");
    assertBadRequest(() => parseDocumentRequest(parse('<document xmlns="urn:other" room="r@muc"/>')), 'not a document request');
  });

  it('refuses a grant whose path could leave the origin', () => {
    assertBadRequest(() => parseDocumentGrant(parse(grantXml({ path: '//evil.example/pad/x' }))), "'path'");
    assertBadRequest(() => parseDocumentGrant(parse(grantXml({ path: 'https://evil.example/pad/x' }))), "'path'");
    assertBadRequest(() => parseDocumentGrant(parse(grantXml({ path: '/pad/a b' }))), "'path'");
    assertBadRequest(() => parseDocumentGrant(parse(grantXml({ path: '/\\evil.example/pad/x' }))), "'path'");
    assertBadRequest(() => parseDocumentGrant(parse(grantXml({ path: '/pad/../config.js' }))), "'path'");
    assertBadRequest(() => parseDocumentGrant(parse(grantXml({ path: '/other/x' }))), "'path'");
  });

  it('refuses a grant with a malformed expiry or an oversized token', () => {
    assertBadRequest(() => parseDocumentGrant(parse(grantXml({ expires: 'tomorrow' }))), "'expires'");
    assertBadRequest(() => parseDocumentGrant(parse(grantXml({ expires: '2025-13-45T99:00:00Z' }))), "'expires'");
    assertBadRequest(() => parseDocumentGrant(parse(grantXml({ token: 'a'.repeat(5000) }))), "'token'");
  });

  it('reads the etherpad name trimmed and refuses an empty one', () => {
    assert.equal(parseEtherpad(parse(`<etherpad xmlns="${NS_ETHERPAD}"> abc.def </etherpad>`)), 'abc.def');
    assertBadRequest(() => parseEtherpad(parse(`<etherpad xmlns="${NS_ETHERPAD}"/>`)), 'empty');
  });
});
