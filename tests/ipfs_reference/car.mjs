// A CAR file read by @ipld/car, checked and reassembled by ipfs-unixfs-exporter: the independent check of the CARs
// `plugyard market car` writes and Plugyard's trustless gateway serves.
//
//   node car.mjs CAR ROOT OUT
//
// Checks: a CARv1 whose only root is ROOT; every block's bytes hash (sha2-256) to the digest its CID names; no block
// twice; then the UnixFS file under ROOT is exported from those blocks alone (a missing block is an error) into OUT.
// Prints {"version", "roots", "blocks": [CID, ...in CAR order], "size", "sha256"} as JSON; exit 1 with the reason
// on stderr when a check fails.
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { CarBlockIterator } from '@ipld/car/iterator'
import { exporter } from 'ipfs-unixfs-exporter'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { equals } from 'multiformats/bytes'

const [carFile, rootText, outFile] = process.argv.slice(2)
if (outFile === undefined) {
  process.stderr.write('usage: node car.mjs CAR ROOT OUT\n')
  process.exit(64)
}

function fail (reason) {
  process.stderr.write(`car.mjs: ${reason}\n`)
  process.exit(1)
}

const root = CID.parse(rootText)
const iterator = await CarBlockIterator.fromIterable(createReadStream(carFile))
const roots = await iterator.getRoots()
if (iterator.version !== 1) fail(`CAR version ${iterator.version}, not 1`)
if (roots.length !== 1 || !roots[0].equals(root)) fail(`roots ${roots.map(String)}, not [${root}]`)

const blocks = new Map()
const order = []
for await (const { cid, bytes } of iterator) {
  if (cid.multihash.code !== sha256.code) fail(`block ${cid} is not sha2-256`)
  const digest = await sha256.digest(bytes)
  if (!equals(digest.digest, cid.multihash.digest)) fail(`block ${cid}: its bytes hash to something else`)
  const key = cid.toV1().toString()
  if (blocks.has(key)) fail(`block ${cid} twice`)
  blocks.set(key, bytes)
  order.push(cid.toString())
}

const blockstore = { // the CAR's blocks and nothing else: a block the file needs and the CAR lacks is an error
  async * get (cid) { // interface-blockstore 7: a block's bytes as a stream of chunks
    const bytes = blocks.get(cid.toV1().toString())
    if (bytes === undefined) throw new Error(`block ${cid} is not in the CAR`)
    yield bytes
  },
  async has (cid) { return blocks.has(cid.toV1().toString()) }
}

let entry
try {
  entry = await exporter(root, blockstore)
} catch (err) {
  fail(`cannot export ${root}: ${err.message}`)
}
const hash = createHash('sha256')
const out = createWriteStream(outFile)
let size = 0
try {
  for await (const chunk of entry.content()) {
    hash.update(chunk)
    size += chunk.length
    if (!out.write(chunk)) await once(out, 'drain')
  }
} catch (err) {
  fail(`cannot read the file under ${root}: ${err.message}`)
}
out.end()
await once(out, 'finish')
process.stdout.write(JSON.stringify({ version: iterator.version, roots: roots.map(String), blocks: order, size, sha256: hash.digest('hex') }) + '\n')
