// The layer rule: only src/fs/fuse/ may import fuse-native and only src/s3/ may import the AWS SDK,
// so the filesystem core stays testable without a mount and without S3.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const sdk = { group: ['@aws-sdk/*', '@smithy/*'], message: 'Only src/s3/ talks to the AWS SDK; use the ObjectStore interface.' };
const fuse = { name: 'fuse-native', message: 'Only src/fs/fuse/ talks to fuse-native.' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.test-tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/s3/**', 'src/fs/fuse/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [fuse], patterns: [sdk] }] },
  },
  {
    files: ['src/s3/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [fuse] }] },
  },
  {
    files: ['src/fs/fuse/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [sdk] }] },
  },
  {
    // The benchmark drives bucketfs from outside, through its CLI and the mount, as a user does;
    // the SDK is its direct-S3 bound.
    files: ['bench/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [fuse], patterns: [{ group: ['../src/*'], message: 'The benchmark runs bucketfs through bin/bucketfs, never its modules.' }] }],
    },
  },
  {
    files: ['bin/*', 'eslint.config.js', 'scripts/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
