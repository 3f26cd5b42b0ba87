#!/usr/bin/env node
// Launcher: runs the TypeScript sources through tsx, so `npm start` and `npx tessera` need no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
