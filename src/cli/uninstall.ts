// `peruse uninstall`: the other half of install.ts.
export { uninstall as main } from './install.js';
