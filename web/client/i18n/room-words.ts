/**
 * Words for suggested room names, per language, ASCII only (they end up in URLs and MUC node
 * names). French adjectives all end in a silent "e" so they agree with any noun's gender.
 */
import type { Lang } from './translate.ts';

export interface RoomWords {
  readonly adjectives: readonly string[];
  readonly nouns: readonly string[];
  /** French puts the adjective after the noun. */
  readonly adjectiveFirst: boolean;
}

export const ROOM_WORDS: Readonly<Record<Lang, RoomWords>> = {
  en: {
    adjectiveFirst: true,
    adjectives: [
      'Bright', 'Calm', 'Clever', 'Brave', 'Gentle', 'Quick', 'Quiet', 'Bold', 'Sunny', 'Steady', 'Kind',
      'Lively', 'Noble', 'Proud', 'Swift', 'Wise', 'Happy', 'Golden', 'Silver', 'Crisp', 'Fresh', 'Green',
      'Amber', 'Royal', 'Merry', 'Mellow', 'Nimble', 'Patient', 'Polite', 'Rapid', 'Smart', 'Vivid',
    ],
    nouns: [
      'River', 'Harbor', 'Meadow', 'Forest', 'Garden', 'Island', 'Valley', 'Mountain', 'Lantern', 'Bridge',
      'Falcon', 'Otter', 'Heron', 'Maple', 'Cedar', 'Willow', 'Comet', 'Planet', 'Beacon', 'Compass',
      'Orchard', 'Canyon', 'Lagoon', 'Summit', 'Prairie', 'Glacier', 'Harvest', 'Anchor', 'Castle', 'Violin',
      'Library', 'Tower',
    ],
  },
  fr: {
    adjectiveFirst: false,
    adjectives: [
      'Calme', 'Tranquille', 'Rapide', 'Agile', 'Sage', 'Libre', 'Solide', 'Paisible', 'Aimable', 'Habile',
      'Stable', 'Sobre', 'Vaste', 'Propre', 'Rare', 'Jeune', 'Riche', 'Brave', 'Digne', 'Ferme', 'Noble',
      'Placide', 'Pratique', 'Lisible', 'Mobile', 'Unique', 'Superbe', 'Magnifique', 'Sympathique',
      'Utile', 'Tendre', 'Souple',
    ],
    nouns: [
      'Riviere', 'Jardin', 'Foret', 'Montagne', 'Vallon', 'Colline', 'Lanterne', 'Pont', 'Faucon', 'Loutre',
      'Heron', 'Erable', 'Cedre', 'Saule', 'Comete', 'Planete', 'Phare', 'Boussole', 'Verger', 'Canyon',
      'Lagune', 'Sommet', 'Prairie', 'Glacier', 'Moisson', 'Ancre', 'Chateau', 'Violon', 'Bibliotheque',
      'Tour', 'Ruisseau', 'Clairiere',
    ],
  },
};
