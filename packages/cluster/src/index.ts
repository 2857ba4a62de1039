export * from './log-store.js';
export * from './log-chunk.js';
export * from './etcd-keys.js';
export { EtcdLogStore, type EtcdLogStoreOptions } from './etcd-log-store.js';
export * from './etcd-appender.js';
export * from './etcd-follower.js';
export * from './local-etcd.js';
export * from './replicated-log-writer.js';
export * from './catch-up.js';
