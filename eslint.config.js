// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders that form the sans-I/O core: no sockets, files, timers, wall clock or ambient randomness. */
const CORE = [
  'src/ike/**',
  'src/esp/**',
  'src/ah/**',
  'src/sad/**',
  'src/spd/**',
  'src/crypto/**',
  'src/pools/**',
  'src/eap/**',
];

const ioModules = ['dgram', 'net', 'fs', 'fs/promises', 'child_process', 'worker_threads', 'timers', 'timers/promises'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a const object instead of enum (erasable syntax).' },
      ],
    },
  },
  {
    files: CORE,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.flatMap((m) => [
            { name: m, message: 'The sans-I/O core must not do I/O: pass data in and out instead.' },
            { name: `node:${m}`, message: 'The sans-I/O core must not do I/O: pass data in and out instead.' },
          ]),
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'queueMicrotask'].map(
          (name) => ({ name, message: 'The sans-I/O core has no timers: return a deadline instead.' }),
        ),
        { name: 'process', message: 'The sans-I/O core must not touch the process.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Take nowMs as an argument.' },
        { object: 'Math', property: 'random', message: 'Take an Rng as an argument.' },
        { object: 'performance', property: 'now', message: 'Take nowMs as an argument.' },
      ],
    },
  },
  {
    // The daemon's timers are deadlines of its one Clock (src/io/clock.ts), so tests drive them on a fake one.
    files: ['src/daemon/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'].map((name) => ({
          name,
          message: 'Daemon timers go through the Clock: add a deadline to nextDeadlineMs().',
        })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use the Clock: io.clock.nowMs().' },
        { object: 'performance', property: 'now', message: 'Use the Clock: io.clock.nowMs().' },
      ],
    },
  },
);
