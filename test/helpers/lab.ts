export { Lab, canRunLab, waitFor } from '../../src/lab/lab.js';
export type { LabHost } from '../../src/lab/lab.js';
