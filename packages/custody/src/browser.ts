/**
 * The browser-safe part of @vex/custody (`@vex/custody/browser`): the
 * compiled contracts' ABIs, the viem bindings and the records the vault
 * reads. No node: modules (the anvil launcher and the compiler are left out),
 * so the SDK can use it in a page.
 */
export * from './artifacts.js';
export * from './chain.js';
export * from './records.js';
export * from './exit-claims.js';
