#!/usr/bin/env node
/**
 * `npm run loadtest -- …` and `npx sagegate-loadtest …` (package.json "bin"): see main.ts and --help.
 */
import { main } from './main.js'

// The AWS SDK's notice that its 2027 releases need Node 22 (the gateway's start says it once) would
// cut into the progress lines; the SDK reads this when a client is built, after these imports.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env })
