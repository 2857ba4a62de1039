export * from './anvil.js';
export * from './artifacts.js';
export * from './chain.js';
export * from './records.js';
export * from './custody-service.js';
export * from './payout-recovery.js';
export * from './forced-exits.js';
