/**
 * The editor's and the standalone document page's words, in French and English. Kept here rather
 * than in the app's i18n tables because the standalone page (jitsi-meet's iframe) loads neither
 * the app nor its tables.
 */

export type Lang = 'fr' | 'en';

/** French for any `fr…` tag (`fr`, `fr-CA`), English otherwise. */
export function pickLang(tag: string | null | undefined): Lang {
  return tag?.toLowerCase().startsWith('fr') ? 'fr' : 'en';
}

const fr = {
  toolbar: 'Mise en forme',
  header1: 'Titre 1',
  header2: 'Titre 2',
  bold: 'Gras',
  italic: 'Italique',
  underline: 'Souligné',
  orderedList: 'Liste numérotée',
  bulletList: 'Liste à puces',
  link: 'Lien',
  editor: 'Contenu du document',
  placeholder: 'Écrivez ici…',
  linkPrompt: 'Adresse du lien :',
  linkVisit: 'Ouvrir :',
  linkEdit: 'Modifier',
  linkRemove: 'Retirer',
  linkSave: 'Enregistrer',
  linkInput: 'Adresse du lien',
  'status.connecting': 'Connexion au document…',
  'status.synced': 'Document à jour',
  'status.offline': 'Connexion perdue : vos modifications seront envoyées au retour de la connexion.',
  'status.ended': 'La réunion est terminée : ce document n’existe plus. Vous pouvez encore télécharger ce qui est affiché.',
  'status.refused': 'Accès au document refusé.',
  'refused.tooLarge': 'Modification refusée : le document a atteint sa taille maximale.',
  'refused.other': 'Modification refusée par le serveur ; le document a été rechargé.',
  title: 'Document partagé',
  downloadHtml: 'Télécharger (HTML)',
  downloadText: 'Télécharger (texte)',
  pageGone: 'Ce document n’existe plus : la réunion est terminée, ou le lien est erroné.',
  pageRefused: 'L’accès à ce document est refusé.',
  pageBadAddress: 'Cette adresse ne désigne aucun document.',
  pageFailed: 'L’éditeur n’a pas pu démarrer. Rechargez la page.',
  pageWarning: 'Ce document est détruit à la fin de la réunion. Téléchargez-le pour en garder une copie.',
};

export type StringKey = keyof typeof fr;

const en: Record<StringKey, string> = {
  toolbar: 'Formatting',
  header1: 'Heading 1',
  header2: 'Heading 2',
  bold: 'Bold',
  italic: 'Italic',
  underline: 'Underline',
  orderedList: 'Numbered list',
  bulletList: 'Bulleted list',
  link: 'Link',
  editor: 'Document content',
  placeholder: 'Write here…',
  linkPrompt: 'Link address:',
  linkVisit: 'Open:',
  linkEdit: 'Edit',
  linkRemove: 'Remove',
  linkSave: 'Save',
  linkInput: 'Link address',
  'status.connecting': 'Connecting to the document…',
  'status.synced': 'Document up to date',
  'status.offline': 'Connection lost: your changes will be sent when it comes back.',
  'status.ended': 'The meeting has ended: this document no longer exists. You can still download what is shown.',
  'status.refused': 'Access to the document was refused.',
  'refused.tooLarge': 'Change refused: the document has reached its maximum size.',
  'refused.other': 'Change refused by the server; the document was reloaded.',
  title: 'Shared document',
  downloadHtml: 'Download (HTML)',
  downloadText: 'Download (text)',
  pageGone: 'This document no longer exists: the meeting has ended, or the link is wrong.',
  pageRefused: 'Access to this document is refused.',
  pageBadAddress: 'This address names no document.',
  pageFailed: 'The editor could not start. Reload the page.',
  pageWarning: 'This document is destroyed when the meeting ends. Download it to keep a copy.',
};

const tables: Record<Lang, Record<StringKey, string>> = { fr, en };

export function strings(lang: Lang): Readonly<Record<StringKey, string>> {
  return tables[lang];
}
