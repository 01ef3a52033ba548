import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import {
  buildDataForm, field, fieldValue, findDataForm, formTypeOf, NS_DATA_FORMS, parseBooleanValue, parseDataForm, type DataForm,
} from '../../../../xmpp/protocol/dataform.ts';
import { describeFixtures, type Codec } from './fixtures.ts';

const form: Codec<DataForm> = { ns: NS_DATA_FORMS, parse: parseDataForm, build: buildDataForm };

function assertBadRequest(xml: string, mention: string): void {
  assert.throws(() => parseDataForm(parse(xml)), (err: unknown) => err instanceof StanzaError && err.condition === 'bad-request' && err.message.includes(mention));
}

describe('xmpp/protocol/dataform (XEP-0004)', () => {
  describeFixtures('dataform', { form });

  it('refuses a form type outside form/submit/cancel/result', () => {
    assertBadRequest(`<x xmlns="${NS_DATA_FORMS}" type="draft"/>`, 'draft');
    assertBadRequest(`<x xmlns="${NS_DATA_FORMS}"/>`, 'type');
  });

  it('refuses an unknown field type, naming the field', () => {
    assertBadRequest(`<x xmlns="${NS_DATA_FORMS}" type="submit"><field var="age" type="number"><value>3</value></field></x>`, 'age');
  });

  it("refuses a field without 'var' unless it is fixed", () => {
    assertBadRequest(`<x xmlns="${NS_DATA_FORMS}" type="form"><field type="text-single"/></x>`, 'var');
    assert.doesNotThrow(() => parseDataForm(parse(`<x xmlns="${NS_DATA_FORMS}" type="form"><field type="fixed"><value>t</value></field></x>`)));
  });

  it('refuses an element that is not a data form', () => {
    assertBadRequest('<x xmlns="jabber:x:oob" type="form"/>', 'jabber:x:data');
  });

  it('reads values, FORM_TYPE and booleans through the helpers', () => {
    const f = parseDataForm(parse(`<x xmlns="${NS_DATA_FORMS}" type="submit">
      <field var="FORM_TYPE" type="hidden"><value>urn:t</value></field>
      <field var="b"><value>true</value></field><field var="empty"/></x>`));
    assert.equal(formTypeOf(f), 'urn:t');
    assert.equal(fieldValue(f, 'b'), 'true');
    assert.equal(fieldValue(f, 'empty'), '');
    assert.equal(fieldValue(f, 'absent'), undefined);
    assert.deepEqual(['1', 'true', '0', 'false', 'yes'].map(parseBooleanValue), [true, true, false, false, undefined]);
  });

  it('finds the form of a given FORM_TYPE among several', () => {
    const parent = parse(`<query><x xmlns="${NS_DATA_FORMS}" type="result"><field var="FORM_TYPE"><value>urn:a</value></field></x>
      <x xmlns="${NS_DATA_FORMS}" type="result"><field var="FORM_TYPE"><value>urn:b</value></field></x></query>`);
    assert.equal(findDataForm(parent, 'urn:b')?.getChild('field')?.getChildText('value'), 'urn:b');
    assert.equal(findDataForm(parent)?.getChild('field')?.getChildText('value'), 'urn:a');
    assert.equal(findDataForm(parent, 'urn:c'), undefined);
  });

  it('builds fields from the shorthands', () => {
    const built = buildDataForm({ type: 'result', fields: [field.hidden('FORM_TYPE', 'urn:x'), field.boolean('b', true, 'B'), field.text('t', undefined)] });
    assert.deepEqual(parseDataForm(built).fields, [
      { var: 'FORM_TYPE', type: 'hidden', values: ['urn:x'] },
      { var: 'b', type: 'boolean', label: 'B', values: ['1'] },
      { var: 't', type: 'text-single', values: [] },
    ]);
  });
});
