import assert from 'node:assert/strict';
import { parse, type Element } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import { buildDataForm, parseDataForm } from '../../../../xmpp/protocol/dataform.ts';
import { buildDiscoInfo, buildDiscoItems, parseDiscoInfo, parseDiscoItems } from '../../../../xmpp/protocol/disco.ts';
import {
  buildMucAdmin, buildMucJoin, buildMucOwner, buildMucUser, parseMucAdmin, parseMucJoin, parseMucOwner, parseMucUser,
} from '../../../../xmpp/protocol/muc-user.ts';
import { assertXml } from './helpers.ts';

interface Case {
  name: string;
  xml: string;
  parse: (el: Element) => unknown;
  build: (value: never) => Element;
  expected: unknown;
}

const cases: Case[] = [
  {
    name: 'XEP-0004 form with options, booleans and an empty value',
    xml: `<x xmlns="jabber:x:data" type="form"><title>Config</title><instructions>Fill in</instructions>
      <field var="FORM_TYPE" type="hidden"><value>urn:x</value></field>
      <field var="b" type="boolean" label="B"><value>1</value></field>
      <field var="w" type="list-single"><required/><value>anyone</value><option label="Anyone"><value>anyone</value></option></field>
      <field var="e" type="text-single"><value/></field></x>`,
    parse: parseDataForm, build: buildDataForm as (v: never) => Element,
    expected: {
      type: 'form', title: 'Config', instructions: ['Fill in'], fields: [
        { var: 'FORM_TYPE', type: 'hidden', values: ['urn:x'] },
        { var: 'b', type: 'boolean', label: 'B', values: ['1'] },
        { var: 'w', type: 'list-single', required: true, values: ['anyone'], options: [{ label: 'Anyone', value: 'anyone' }] },
        { var: 'e', type: 'text-single', values: [''] },
      ],
    },
  },
  {
    name: 'XEP-0030 disco#info with identity, features and an extended form',
    xml: `<query xmlns="http://jabber.org/protocol/disco#info" node="n"><identity category="conference" type="text" name="room"/>
      <feature var="http://jabber.org/protocol/muc"/><x xmlns="jabber:x:data" type="result"><field var="FORM_TYPE" type="hidden"><value>urn:y</value></field></x></query>`,
    parse: parseDiscoInfo, build: buildDiscoInfo as (v: never) => Element,
    expected: {
      node: 'n', identities: [{ category: 'conference', type: 'text', name: 'room' }], features: ['http://jabber.org/protocol/muc'],
      forms: [{ type: 'result', fields: [{ var: 'FORM_TYPE', type: 'hidden', values: ['urn:y'] }] }],
    },
  },
  {
    name: 'XEP-0030 disco#items',
    xml: `<query xmlns="http://jabber.org/protocol/disco#items"><item jid="a@muc" name="a"/><item jid="b@muc" node="x"/></query>`,
    parse: parseDiscoItems, build: buildDiscoItems as (v: never) => Element,
    expected: { items: [{ jid: 'a@muc', name: 'a' }, { jid: 'b@muc', node: 'x' }] },
  },
  {
    name: 'XEP-0045 muc#user kick with actor, reason and statuses',
    xml: `<x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="none" role="none" jid="a@b/c"><actor nick="mod"/><reason>bye</reason></item>
      <status code="307"/><status code="110"/></x>`,
    parse: parseMucUser, build: buildMucUser as (v: never) => Element,
    expected: { items: [{ affiliation: 'none', role: 'none', jid: 'a@b/c', actor: { nick: 'mod' }, reason: 'bye' }], statuses: [307, 110], invites: [] },
  },
  {
    name: 'XEP-0045 muc#user destroy',
    xml: `<x xmlns="http://jabber.org/protocol/muc#user"><destroy jid="other@muc"><reason>moved</reason></destroy></x>`,
    parse: parseMucUser, build: buildMucUser as (v: never) => Element,
    expected: { items: [], statuses: [], invites: [], destroy: { jid: 'other@muc', reason: 'moved' } },
  },
  {
    name: 'XEP-0045 join with password and history',
    xml: `<x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0" since="2026-01-01T00:00:00.000Z"/><password>pw</password></x>`,
    parse: parseMucJoin, build: buildMucJoin as (v: never) => Element,
    expected: { password: 'pw', history: { maxstanzas: 0, since: Date.UTC(2026, 0, 1) } },
  },
  {
    name: 'XEP-0045 muc#admin items',
    xml: `<query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="owner" jid="a@b"><reason>r</reason></item><item nick="n" role="none"/></query>`,
    parse: parseMucAdmin, build: buildMucAdmin as (v: never) => Element,
    expected: [{ affiliation: 'owner', jid: 'a@b', reason: 'r' }, { nick: 'n', role: 'none' }],
  },
  {
    name: 'XEP-0045 muc#owner destroy',
    xml: `<query xmlns="http://jabber.org/protocol/muc#owner"><destroy><reason>end</reason></destroy></query>`,
    parse: parseMucOwner, build: buildMucOwner as (v: never) => Element,
    expected: { kind: 'destroy', destroy: { reason: 'end' } },
  },
];

describe('protocol modules used by the MUC: parse/build round trips', () => {
  for (const c of cases) {
    it(`${c.name} parses to the expected value and builds back the same XML`, () => {
      const value = c.parse(parse(c.xml));
      assert.deepEqual(value, c.expected);
      assertXml(c.build(value as never), c.xml);
    });
  }

  const bad: Array<[string, string, (el: Element) => unknown]> = [
    ['a muc#user status that is not a number', `<x xmlns="http://jabber.org/protocol/muc#user"><status code="abc"/></x>`, parseMucUser],
    ['an unknown role', `<query xmlns="http://jabber.org/protocol/muc#admin"><item role="king" nick="n"/></query>`, parseMucAdmin],
    ['a muc#admin query without items', `<query xmlns="http://jabber.org/protocol/muc#admin"/>`, parseMucAdmin],
    ['a negative history count', `<x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="-1"/></x>`, parseMucJoin],
    ['a form field without var', `<x xmlns="jabber:x:data" type="submit"><field><value>1</value></field></x>`, parseDataForm],
    ['an identity without category', `<query xmlns="http://jabber.org/protocol/disco#info"><identity type="text"/></query>`, parseDiscoInfo],
  ];
  for (const [name, xml, parser] of bad) {
    it(`refuses ${name} with bad-request`, () => {
      assert.throws(() => parser(parse(xml)), (err: unknown) => err instanceof StanzaError && err.condition === 'bad-request');
    });
  }
});
