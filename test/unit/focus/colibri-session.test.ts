import assert from 'node:assert/strict';
import { Element } from 'ltx';
import { colibriFailure } from '../../../focus/colibri-session.ts';
import { StanzaError } from '../../../xmpp/errors.ts';
import { Colibri2Error } from '../../../xmpp/protocol/colibri2.ts';

/** A rejection as IqCaller makes it from an error reply. */
function rejected(error: StanzaError): StanzaError {
  const reply = new Element('iq', { type: 'error', from: 'jvb@auth.example/jvb1' }).cnode(error.toElement()).root();
  return Object.assign(new StanzaError(error.type, error.condition, error.text), { reply });
}

describe('what a failed Colibri2 request means (Jicofo ColibriV2SessionManager.handleResponse)', () => {
  const cases: Array<[string, unknown, string]> = [
    ['no answer (IqCaller timeout)', new StanzaError('wait', 'remote-server-timeout', 'no answer from jvb'), 'bridge-failed'],
    ['the focus stopping (no reply)', new StanzaError('wait', 'service-unavailable', 'the focus is stopping'), 'refused'],
    ['bad-request', rejected(StanzaError.badRequest('oops')), 'refused'],
    ['conference_not_found', rejected(Colibri2Error.conferenceNotFound('m')), 'session-lost'],
    ['item-not-found from the MUC (no reason)', rejected(new StanzaError('cancel', 'item-not-found')), 'refused'],
    ['conference_already_exists', rejected(Colibri2Error.conferenceAlreadyExists('m')), 'session-lost'],
    ['graceful_shutdown', rejected(Colibri2Error.gracefulShutdown()), 'session-lost'],
    ['service-unavailable from the server (bridge offline)', rejected(new StanzaError('cancel', 'service-unavailable')), 'bridge-failed'],
    ['internal-server-error', rejected(new StanzaError('wait', 'internal-server-error')), 'bridge-failed'],
    ['unknown_endpoint', rejected(Colibri2Error.unknownEndpoint('alice')), 'endpoint-lost'],
  ];
  for (const [what, err, kind] of cases) {
    it(`${what}: ${kind}`, () => assert.equal(colibriFailure(err).kind, kind));
  }

  it('names the endpoint the bridge lost, and marks a graceful shutdown', () => {
    assert.deepEqual(colibriFailure(rejected(Colibri2Error.unknownEndpoint('alice'))), { kind: 'endpoint-lost', endpointId: 'alice', reason: 'item-not-found (unknown_endpoint): Endpoint not found for ID: alice' });
    const shutdown = colibriFailure(rejected(Colibri2Error.gracefulShutdown()));
    assert.equal(shutdown.kind === 'session-lost' && shutdown.shuttingDown, true);
  });
});
