export { LEFT_TO_THIRD, Lab, canRunLab, waitFor } from '../../src/demo/lab.js';
export type { LabHost, LabOptions } from '../../src/demo/lab.js';
