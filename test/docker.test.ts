import { readFile } from 'node:fs/promises'
import t from 'tap'

// The image's runtime stage must hold everything the gateway reads from its installation directory
// at run time (lib/app-root.ts): there is no Docker engine in CI to build it, so the Dockerfile is read.
t.test("the runtime image copies what the gateway reads from its installation", async (t) => {
  const dockerfile = await readFile(new URL('../docker/Dockerfile', import.meta.url), 'utf8')
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
  const copied = [...runtime.matchAll(/^COPY (?:--from=\S+ )?(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1)).map((p) => p.replace(/^\/app\//, ''))
  for (const needed of [
    'node_modules', // dependencies, tus-js-client's browser build and Swagger UI's assets among them
    'dist', // the compiled gateway
    'handlers', // the model handlers' data files (artifacts)
    'src/web', // the web page
    'package.json', // the version, and appRoot's marker
  ]) t.ok(copied.includes(needed), `${needed} is in the image`)
  t.match(runtime, /FROM node:22/, 'Node 22 in the image')
})
