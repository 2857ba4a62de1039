/**
 * Compile-time only: the instruction catalogue names exactly the transaction
 * kinds the parser knows. The check lives here, not in the catalogue, so that
 * `@vex/engine/catalogue` imports nothing and stays plain data a browser
 * bundle (the SDK's route table, packages/client/src/routes.ts) can take
 * without type-checking the parser and its Node-only neighbours.
 */
import type { TransactionKind } from './instruction.js';
import type { TransactionName } from './instruction-catalogue.js';

type MissingFromCatalogue = Exclude<TransactionKind, TransactionName>;
type NotATransactionKind = Exclude<TransactionName, TransactionKind>;

/** Fails to compile, naming the offenders, when the catalogue and the parser disagree. */
export const catalogueNamesEveryTransactionKind: [MissingFromCatalogue, NotATransactionKind] extends [never, never]
  ? true
  : { readonly missingFromCatalogue: MissingFromCatalogue; readonly notATransactionKind: NotATransactionKind } = true;
