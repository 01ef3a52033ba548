/**
 * XEP-0004 Data Forms (v2.13.1, https://xmpp.org/extensions/xep-0004.html): parse and build
 * `<x xmlns="jabber:x:data"/>`, plus the FORM_TYPE convention of XEP-0068.
 *
 * Not covered: multi-item results (`<reported/>`, `<item/>`) and XEP-0122 validation; no Jitsi
 * component uses them. Pure and browser-safe.
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';

export const NS_DATA_FORMS = 'jabber:x:data';

export type DataFormType = 'form' | 'submit' | 'cancel' | 'result';

export type DataFormFieldType =
  | 'boolean' | 'fixed' | 'hidden' | 'jid-multi' | 'jid-single' | 'list-multi' | 'list-single'
  | 'text-multi' | 'text-private' | 'text-single';

const FORM_TYPES: readonly DataFormType[] = ['form', 'submit', 'cancel', 'result'];
const FIELD_TYPES: readonly DataFormFieldType[] = [
  'boolean', 'fixed', 'hidden', 'jid-multi', 'jid-single', 'list-multi', 'list-single',
  'text-multi', 'text-private', 'text-single',
];

export interface DataFormOption {
  label?: string;
  value: string;
}

export interface DataFormField {
  /** The field name; absent only on `fixed` fields (§3.2). */
  var?: string;
  /** Absent means text-single (§3.3). */
  type?: DataFormFieldType;
  label?: string;
  desc?: string;
  required?: boolean;
  values: string[];
  options?: DataFormOption[];
}

export interface DataForm {
  type: DataFormType;
  title?: string;
  instructions?: string[];
  fields: DataFormField[];
}

export function isDataFormType(value: unknown): value is DataFormType {
  return typeof value === 'string' && (FORM_TYPES as readonly string[]).includes(value);
}

function isFieldType(value: unknown): value is DataFormFieldType {
  return typeof value === 'string' && (FIELD_TYPES as readonly string[]).includes(value);
}

/** Parses `<x xmlns="jabber:x:data">`; throws bad-request naming the bad part. */
export function parseDataForm(x: Element): DataForm {
  if (x.name !== 'x' || x.attrs.xmlns !== NS_DATA_FORMS) throw StanzaError.badRequest('not a jabber:x:data form');
  const type = x.attrs.type;
  if (!isDataFormType(type)) throw StanzaError.badRequest(`data form has bad type '${String(type)}'`);
  const form: DataForm = { type, fields: [] };
  const title = x.getChildText('title');
  if (title !== null) form.title = title;
  const instructions = x.getChildren('instructions').map((i) => i.getText());
  if (instructions.length > 0) form.instructions = instructions;
  for (const f of x.getChildren('field')) form.fields.push(parseField(f));
  return form;
}

function parseField(f: Element): DataFormField {
  const field: DataFormField = { values: f.getChildren('value').map((v) => v.getText()) };
  const { var: name, type, label } = f.attrs as Record<string, unknown>;
  if (typeof name === 'string') field.var = name;
  if (type !== undefined) {
    if (!isFieldType(type)) throw StanzaError.badRequest(`field '${String(name)}' has bad type '${String(type)}'`);
    field.type = type;
  }
  if (field.var === undefined && field.type !== 'fixed') throw StanzaError.badRequest("data form field lacks 'var'");
  if (typeof label === 'string') field.label = label;
  const desc = f.getChildText('desc');
  if (desc !== null) field.desc = desc;
  if (f.getChild('required')) field.required = true;
  const options = f.getChildren('option');
  if (options.length > 0) {
    field.options = options.map((o) => {
      const option: DataFormOption = { value: o.getChildText('value') ?? '' };
      if (typeof o.attrs.label === 'string') option.label = o.attrs.label;
      return option;
    });
  }
  return field;
}

/** Builds `<x xmlns="jabber:x:data">` from a form. */
export function buildDataForm(form: DataForm): Element {
  const x = new Element('x', { xmlns: NS_DATA_FORMS, type: form.type });
  if (form.title !== undefined) x.c('title').t(form.title);
  for (const line of form.instructions ?? []) x.c('instructions').t(line);
  for (const field of form.fields) {
    const f = x.c('field', { var: field.var, type: field.type, label: field.label });
    if (field.desc !== undefined) f.c('desc').t(field.desc);
    if (field.required) f.c('required');
    for (const value of field.values) {
      const v = f.c('value');
      if (value !== '') v.t(value);
    }
    for (const option of field.options ?? []) f.c('option', { label: option.label }).c('value').t(option.value);
  }
  return x;
}

export function findField(form: DataForm, name: string): DataFormField | undefined {
  return form.fields.find((f) => f.var === name);
}

/** The first value of a field, or undefined when the field is absent. */
export function fieldValue(form: DataForm, name: string): string | undefined {
  const field = findField(form, name);
  if (!field) return undefined;
  return field.values[0] ?? '';
}

/** The value of the hidden FORM_TYPE field (XEP-0068 §3). */
export function formTypeOf(form: DataForm): string | undefined {
  return fieldValue(form, 'FORM_TYPE');
}

/** XEP-0004 §3.3 boolean: "0"/"false" and "1"/"true"; undefined for anything else. */
export function parseBooleanValue(value: string): boolean | undefined {
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  return undefined;
}

/** The first `<x xmlns="jabber:x:data"/>` child, optionally the one with a given FORM_TYPE. */
export function findDataForm(parent: Element, formType?: string): Element | undefined {
  for (const child of parent.getChildren('x', NS_DATA_FORMS)) {
    if (formType === undefined) return child;
    const typeField = child.getChildren('field').find((f) => f.attrs.var === 'FORM_TYPE');
    if (typeField?.getChildText('value') === formType) return child;
  }
  return undefined;
}

/** Shorthands for building fields. */
export const field = {
  hidden: (name: string, value: string): DataFormField => ({ var: name, type: 'hidden', values: [value] }),
  text: (name: string, value: string | undefined, label?: string): DataFormField => ({
    var: name, type: 'text-single', ...(label !== undefined ? { label } : {}), values: value === undefined ? [] : [value],
  }),
  boolean: (name: string, value: boolean, label?: string): DataFormField => ({
    var: name, type: 'boolean', ...(label !== undefined ? { label } : {}), values: [value ? '1' : '0'],
  }),
};
