/** Room names: validation, suggestions, and the routes built from them. */
import assert from 'node:assert/strict';
import { ROOM_WORDS } from '../../../web/client/i18n/room-words.ts';
import { roomNameProblem, suggestRoomName } from '../../../web/client/ui/landing/room-name.ts';
import { homePath, parseRoute, roomPath } from '../../../web/client/ui/route.ts';

describe('room names', () => {
  const cases: Array<[string, ReturnType<typeof roomNameProblem>]> = [
    ['', 'empty'],
    ['ab', 'short'],
    ['abc', undefined],
    ['Réunion-équipe_2', undefined],
    ['a b/c', 'chars'],
    ['a/b', 'chars'],
    ['room@muc', 'chars'],
    ['x'.repeat(64), undefined],
    ['x'.repeat(65), 'long'],
    ['éé', 'short'],
    ['%2F', 'chars'],
  ];
  for (const [name, problem] of cases) {
    it(`${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…(${name.length})` : name)} → ${problem ?? 'valid'}`, () => {
      assert.equal(roomNameProblem(name), problem);
    });
  }

  it('suggestions are ASCII, valid, adjective+noun+4 digits in English and noun+adjective in French', () => {
    let n = 0;
    const counter = (bound: number): number => n++ % bound;
    for (let i = 0; i < 50; i++) {
      for (const lang of ['en', 'fr'] as const) {
        const name = suggestRoomName(lang, counter);
        assert.match(name, /^[A-Za-z]+\d{4}$/);
        assert.equal(roomNameProblem(name), undefined);
      }
    }
    assert.equal(suggestRoomName('en', () => 0), `${ROOM_WORDS.en.adjectives[0]}${ROOM_WORDS.en.nouns[0]}1000`);
    assert.equal(suggestRoomName('fr', () => 0), `${ROOM_WORDS.fr.nouns[0]}${ROOM_WORDS.fr.adjectives[0]}1000`);
  });

  it('every suggestion word is plain ASCII letters', () => {
    for (const words of Object.values(ROOM_WORDS)) {
      for (const word of [...words.adjectives, ...words.nouns]) assert.match(word, /^[A-Z][a-z]+$/);
    }
  });
});

describe('routes', () => {
  const valid = (room: string): boolean => roomNameProblem(room) === undefined;
  it('/ is the landing page', () => {
    assert.deepEqual(parseRoute('/', valid), { page: 'landing', tenant: undefined, invalidRoom: undefined });
  });
  it('/Room and /tenant/Room are rooms, decoded', () => {
    assert.deepEqual(parseRoute('/R%C3%A9union', valid), { page: 'room', tenant: undefined, room: 'Réunion' });
    assert.deepEqual(parseRoute('/acme/Weekly', valid), { page: 'room', tenant: 'acme', room: 'Weekly' });
  });
  it('an invalid room name leads to the landing page with the name kept', () => {
    assert.deepEqual(parseRoute('/a%20b', valid), { page: 'landing', tenant: undefined, invalidRoom: 'a b' });
    assert.deepEqual(parseRoute('/%E0%A4%A', valid), { page: 'landing', tenant: undefined, invalidRoom: '%E0%A4%A' });
  });
  it('deeper paths are not rooms', () => {
    assert.equal(parseRoute('/a/b/c', valid).page, 'landing');
  });
  it('paths are built escaped, under the tenant', () => {
    assert.equal(roomPath('Réunion', undefined), '/R%C3%A9union');
    assert.equal(roomPath('Weekly', 'acme'), '/acme/Weekly');
    assert.equal(homePath('acme'), '/acme/');
    assert.equal(homePath(undefined), '/');
  });
});
