import assert from 'node:assert/strict';
import type { Outgoing } from '../../../../xmpp/outgoing.ts';
import { FOCUS, MUC, NS_MUC, World, type FakeClient } from './helpers.ts';

const ROOM = `big@${MUC}`;
const SIZE = 200;

function enter(world: World, nick: string): FakeClient {
  const client = world.client(`${nick}@example/web`);
  client.send(`<presence to="${ROOM}/${nick}"><x xmlns="${NS_MUC}"/><SourceInfo>{"${nick}-a0":{"muted":true}}</SourceInfo></presence>`);
  return client;
}

describe('MUC fan-out cost (200-occupant room)', () => {
  it('the 200th join costs O(n) deliveries of shared stanzas, and each occupant\'s presence is built once', () => {
    const world = new World({ restrictRoomCreation: true });
    const focus = world.client(FOCUS);
    focus.join('big', 'focus');
    const others: FakeClient[] = [focus];
    for (let i = 1; i < SIZE - 2; i++) others.push(enter(world, `user${i}`));
    for (const c of others) c.clear();

    // The 199th join: remember the stanza it got for each occupant, and the one everyone got for it.
    const probe = enter(world, 'probe');
    const cached = new Map<string, Outgoing>();
    for (const out of probe.deliveries.slice(0, SIZE - 2)) cached.set(String(out.element.attrs.from), out);
    const probeBroadcast = focus.deliveries[0];
    assert.ok(probeBroadcast);
    cached.set(`${ROOM}/probe`, probeBroadcast);
    others.push(probe);
    for (const c of others) c.clear();

    const last = enter(world, 'last');

    assert.equal(world.muc.occupantCount, SIZE);
    // The newcomer: 199 occupants, then its own presence, then the subject.
    assert.equal(last.deliveries.length, SIZE - 1 + 2);
    for (const out of last.deliveries.slice(0, SIZE - 1)) {
      const from = String(out.element.attrs.from);
      assert.equal(out, cached.get(from), `the presence of ${from} was built again`);
    }
    // Everyone else: exactly one delivery, one shared stanza for the whole room.
    const shared = new Set<Outgoing>();
    for (const c of others) {
      assert.equal(c.deliveries.length, 1, `${c.jid.full} got ${c.deliveries.length} stanzas`);
      shared.add(c.deliveries[0] ?? assert.fail());
    }
    assert.equal(shared.size, 1);
    const [broadcast] = shared;
    assert.ok(broadcast?.serialisedFor('x@example/y').includes('last-a0'));
  });
});
