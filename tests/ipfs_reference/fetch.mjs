// Fetch a CID through @helia/verified-fetch from one IPFS trustless gateway and nothing else: the independent check
// of Plugyard's gateway. Helia runs over HTTP only (@helia/http): no libp2p node, no delegated routing, the gateway
// URL its one provider; verified-fetch asks it for blocks (`?format=raw`) and checks each against its CID.
//
//   node fetch.mjs GATEWAY_URL CID [TIMEOUT_MS]
//
// Prints {"status", "size", "sha256", "contentType"} as JSON (the body's sha256); exit 1 with the reason on stderr
// when the fetch fails.
import { createHash } from 'node:crypto'

// Node 20 lacks Promise.withResolvers (Node 22), which helia's queues use: the standard's own definition.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const [gateway, cid, timeoutText] = process.argv.slice(2)
if (cid === undefined) {
  process.stderr.write('usage: node fetch.mjs GATEWAY_URL CID [TIMEOUT_MS]\n')
  process.exit(64)
}

// Imported after the polyfill above.
const { createHeliaLight } = await import('helia')
const { withHTTP } = await import('@helia/http')
const { createVerifiedFetchWithHelia } = await import('@helia/verified-fetch')

const light = createHeliaLight({})
// Helia asks its ordinary routers before the fallback one (the gateway list); with none at all it waits forever,
// so one that knows no providers, and answers at once.
light.addRouter({ name: 'no-other-providers', async * findProviders () {} })
const helia = await withHTTP(light, { delegatedRouters: [], recursiveGateways: [gateway], allowInsecure: true, allowLocal: true }).start()
const verifiedFetch = await createVerifiedFetchWithHelia(helia)
let code = 0
try {
  const response = await verifiedFetch(`ipfs://${cid}`, { signal: AbortSignal.timeout(Number(timeoutText ?? 60000)) })
  const body = Buffer.from(await response.arrayBuffer())
  const sha256 = createHash('sha256').update(body).digest('hex')
  process.stdout.write(JSON.stringify({ status: response.status, size: body.length, sha256, contentType: response.headers.get('content-type') }) + '\n')
} catch (err) {
  process.stderr.write(`fetch.mjs: ${err.name}: ${err.message}\n`)
  code = 1
} finally {
  await verifiedFetch.stop()
  await helia.stop()
}
process.exit(code)
