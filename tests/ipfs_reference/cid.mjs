// The CID `ipfs add --cid-version 1 --raw-leaves FILE` prints (kubo's defaults: 256 KiB fixed-size chunks,
// balanced layout with at most 174 links a node), computed by js ipfs-unixfs-importer: the independent
// implementation Plugyard's own (plugyard_artifacts.unixfs) is tested against.
//
//   node cid.mjs FILE            the root CID, one line
//   node cid.mjs FILE --blocks   {"cid": root, "blocks": [every distinct block's CID, sorted]} as JSON
import { createReadStream } from 'node:fs'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

const [file, flag] = process.argv.slice(2)
if (file === undefined || (flag !== undefined && flag !== '--blocks')) {
  process.stderr.write('usage: node cid.mjs FILE [--blocks]\n')
  process.exit(64)
}

const seen = new Set()
const blockstore = { // keeps no bytes: only which blocks were written
  async put (cid) {
    seen.add(cid.toString())
    return cid
  }
}
const options = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 })
}

let root
for await (const entry of importer([{ content: createReadStream(file) }], blockstore, options)) {
  root = entry.cid
}
if (flag === '--blocks') {
  process.stdout.write(JSON.stringify({ cid: root.toString(), blocks: [...seen].sort() }) + '\n')
} else {
  process.stdout.write(root.toString() + '\n')
}
