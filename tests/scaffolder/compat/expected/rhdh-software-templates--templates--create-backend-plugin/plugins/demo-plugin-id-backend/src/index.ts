export * from './service/router';
export { plugin as default } from './plugin';