// Keras callbacks for `fit`.
export * from './callback';
export * from './history';
export * from './reduce-lr-on-plateau';
export * from './early-stopping';
export * from './model-checkpoint';
export * from './terminate-on-nan';
export * from './backup-and-restore';
export * from './progbar-logger';
export { formatLogValue } from './util';
