// An Akash SDL as Akash's own parser sees it: akashjs's SDL class (the one Akash Console deploys with) parses and
// validates the YAML for the current network API (beta3), then builds the manifest sent to the provider and the
// deployment groups put on chain, which fails on what validation lets through.
//
//   node sdl.mjs FILE   {"services": [...], "manifest": [...], "groups": [...], "version": hex} as JSON, exit 0;
//                       or the parser's error on stderr, exit 1
import { readFileSync } from 'node:fs'
import sdlModule from '@akashnetwork/akashjs/build/sdl/index.js'

const { SDL } = sdlModule
const [file] = process.argv.slice(2)
if (file === undefined) {
  process.stderr.write('usage: node sdl.mjs FILE\n')
  process.exit(64)
}

let sdl, manifest, groups, version
try {
  sdl = SDL.fromString(readFileSync(file, 'utf8'), 'beta3', 'mainnet')
  manifest = JSON.parse(sdl.manifestSortedJSON())
  groups = sdl.groups().map(group => ({
    name: group.name,
    requirements: group.requirements,
    resources: group.resources.map(({ count, price }) => ({ count, price }))
  }))
  version = Buffer.from(await sdl.manifestVersion()).toString('hex')
} catch (error) {
  process.stderr.write(`${error?.name ?? 'Error'}: ${error?.message ?? error}\n`)
  process.exit(1)
}
process.stdout.write(JSON.stringify({ services: sdl.serviceNames(), manifest, groups, version }) + '\n')
