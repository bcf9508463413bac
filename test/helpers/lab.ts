export { Lab, canRunLab, waitFor } from '../../src/demo/lab.js';
export type { LabHost } from '../../src/demo/lab.js';
