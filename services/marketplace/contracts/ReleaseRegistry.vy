# pragma version 0.4.3
# pragma evm-version cancun
# pragma optimize gas
"""
@title Plugyard release registry
@license MIT
@notice Who publishes a plugin name, and which CID and manifest digest each of its versions has.

Decisions
- A name belongs to one publisher address, forever (key rotation is future work and will come as a new,
  explicit function). A name is the PEP 503 normal form Plugyard uses everywhere: 1 to 100 of a-z, 0-9 and
  single '-' between them. The contract refuses any other spelling, so "Foo_Bar" can never be claimed beside
  "foo-bar" and the off-chain registry's name and the on-chain one are the same string.
- A version (1 to 64 of A-Z a-z 0-9 . + ! _ -) of a name is written once, by the name's publisher, with a CID
  (8 to 128 of A-Z a-z 0-9 _ -) and the sha256 of its plugin.toml (bytes32, not zero), and never changes.
- Claims cannot be front-run. Two ways, both safe against someone who copies a transaction out of the
  mempool:
  1. commit-reveal: `commit(keccak256(abi_encode(name, claimant, salt)))`, then `claim(name, salt)` from
     the claimant in a later block. The commitment hides the name and binds the claimant, so a copied
     reveal from another account matches no commitment, and a fresh commitment by the copier cannot be
     revealed in the same block as the victim's reveal.
  2. a publisher's signature: `claim_signed(name, publisher, deadline, signature)`, sent by anyone (the
     Plugyard registry service can relay it and pay the gas). A copier can only make the same claim for the
     same publisher; changing any field breaks the signature.
  Releases can be relayed the same way (`record_release_signed`).
- Signatures are EIP-712 typed data with the domain {name "Plugyard ReleaseRegistry", version "1",
  chainId, verifyingContract}. The domain separator is computed at every call from `chain.id` and `self`, so
  a signature made for another chain id, or another registry contract, recovers another address and is
  refused; each carries the publisher's next nonce (one counter per publisher, shared by claims and
  releases), so a used one is refused too, and a deadline (a unix time) after which it is refused. Only
  low-s signatures with v 27 or 28 are accepted (no malleated twins).
- Every state change emits an event whose first topic after the signature is keccak256(name), so an indexer
  can mirror a name with one topic filter; the name and version strings are in the data as well.
"""

MAX_NAME: constant(uint256) = 100
MAX_VERSION: constant(uint256) = 64
MAX_CID: constant(uint256) = 128
MIN_CID: constant(uint256) = 8

# Bit c is set when the byte c is allowed (decimal: Vyper reads hex literals as bytesN).
NAME_CHARS: constant(uint256) = 10633823807823001954989765380701945856  # a-z 0-9 -
VERSION_CHARS: constant(uint256) = 10633823849912963253799285753280200704  # A-Z a-z 0-9 . + ! _ -
CID_CHARS: constant(uint256) = 10633823849912963253799206579853066240  # A-Z a-z 0-9 _ -
DASH: constant(uint256) = 45

# secp256k1's group order halved: a valid s above it has a malleated twin below it.
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
DOMAIN_NAME_HASH: constant(bytes32) = keccak256("Plugyard ReleaseRegistry")
DOMAIN_VERSION_HASH: constant(bytes32) = keccak256("1")
CLAIM_TYPEHASH: constant(bytes32) = keccak256(
    "Claim(string name,address publisher,uint256 nonce,uint256 deadline)"
)
RELEASE_TYPEHASH: constant(bytes32) = keccak256(
    "Release(string name,string version,string cid,bytes32 manifestDigest,address publisher,uint256 nonce,uint256 deadline)"
)

struct Release:
    cid: String[MAX_CID]  # never empty once written: that is how "recorded" is told from "absent"
    manifest_digest: bytes32

event ClaimCommitted:
    commitment: indexed(bytes32)
    block_number: uint256

event NameClaimed:
    name_hash: indexed(bytes32)
    publisher: indexed(address)
    name: String[MAX_NAME]

event ReleaseRecorded:
    name_hash: indexed(bytes32)
    version_hash: indexed(bytes32)
    publisher: indexed(address)
    name: String[MAX_NAME]
    version: String[MAX_VERSION]
    cid: String[MAX_CID]
    manifest_digest: bytes32

event NonceUsed:
    publisher: indexed(address)
    nonce: uint256

# keccak256(name) -> publisher
publishers: public(HashMap[bytes32, address])
# keccak256(name) -> keccak256(version) -> release
_releases: HashMap[bytes32, HashMap[bytes32, Release]]
# commitment -> block it was first made in
commitments: public(HashMap[bytes32, uint256])
# publisher -> next nonce its signature must carry
nonces: public(HashMap[address, uint256])


@external
@view
def domain_separator() -> bytes32:
    return self._domain_separator()


@external
@view
def publisher_of(name: String[MAX_NAME]) -> address:
    """
    @notice The name's publisher, or the zero address when nobody has claimed it.
    """
    return self.publishers[keccak256(name)]


@external
@view
def release(name: String[MAX_NAME], version: String[MAX_VERSION]) -> (String[MAX_CID], bytes32):
    """
    @notice The CID and manifest digest recorded for a version; reverts when there is none.
    """
    record: Release = self._releases[keccak256(name)][keccak256(version)]
    assert len(record.cid) != 0, "no such release"
    return record.cid, record.manifest_digest


@external
@view
def has_release(name: String[MAX_NAME], version: String[MAX_VERSION]) -> bool:
    return len(self._releases[keccak256(name)][keccak256(version)].cid) != 0


@external
@pure
def commitment_for(name: String[MAX_NAME], claimant: address, salt: bytes32) -> bytes32:
    """
    @notice What to pass to `commit` (compute it off-chain too: sending the name in a call reveals it
            only to the node you ask, but never put it in a transaction before the commit is mined).
    """
    return keccak256(abi_encode(name, claimant, salt))


@external
def commit(commitment: bytes32):
    """
    @notice First step of a claim. The first commitment of a hash stands: committing it again does not
            move its block.
    """
    assert commitment != empty(bytes32), "empty commitment"
    if self.commitments[commitment] == 0:
        self.commitments[commitment] = block.number
        log ClaimCommitted(commitment=commitment, block_number=block.number)


@external
def claim(name: String[MAX_NAME], salt: bytes32):
    """
    @notice Second step: claims `name` for the sender, whose commitment of (name, sender, salt) was
            mined in an earlier block.
    """
    commitment: bytes32 = keccak256(abi_encode(name, msg.sender, salt))
    committed_at: uint256 = self.commitments[commitment]
    assert committed_at != 0, "no commitment for this name, sender and salt"
    assert block.number > committed_at, "reveal in a block after the commitment"
    self.commitments[commitment] = 0
    self._claim(name, msg.sender)


@external
def claim_signed(name: String[MAX_NAME], publisher: address, deadline: uint256, signature: Bytes[65]):
    """
    @notice Claims `name` for `publisher`, who signed Claim(name, publisher, nonce, deadline); anyone may send it.
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(CLAIM_TYPEHASH, keccak256(name), publisher, self.nonces[publisher], deadline)
    )
    self._use_signature(publisher, struct_hash, deadline, signature)
    self._claim(name, publisher)


@external
def record_release(
    name: String[MAX_NAME], version: String[MAX_VERSION], cid: String[MAX_CID], manifest_digest: bytes32
):
    """
    @notice Records a new version of a name the sender publishes.
    """
    name_hash: bytes32 = keccak256(name)
    assert self.publishers[name_hash] == msg.sender, "only the name's publisher records its versions"
    self._record(name, name_hash, version, cid, manifest_digest, msg.sender)


@external
def record_release_signed(
    name: String[MAX_NAME],
    version: String[MAX_VERSION],
    cid: String[MAX_CID],
    manifest_digest: bytes32,
    deadline: uint256,
    signature: Bytes[65],
):
    """
    @notice Records a version signed by the name's publisher (Release typed data); anyone may send it.
    """
    name_hash: bytes32 = keccak256(name)
    publisher: address = self.publishers[name_hash]
    assert publisher != empty(address), "name not claimed"
    struct_hash: bytes32 = keccak256(
        abi_encode(
            RELEASE_TYPEHASH,
            name_hash,
            keccak256(version),
            keccak256(cid),
            manifest_digest,
            publisher,
            self.nonces[publisher],
            deadline,
        )
    )
    self._use_signature(publisher, struct_hash, deadline, signature)
    self._record(name, name_hash, version, cid, manifest_digest, publisher)


@internal
@view
def _domain_separator() -> bytes32:
    return keccak256(
        abi_encode(DOMAIN_TYPEHASH, DOMAIN_NAME_HASH, DOMAIN_VERSION_HASH, chain.id, self)
    )


@internal
def _use_signature(signer: address, struct_hash: bytes32, deadline: uint256, signature: Bytes[65]):
    assert block.timestamp <= deadline, "signature expired"
    assert len(signature) == 65, "signature must be 65 bytes (r, s, v)"
    r: uint256 = convert(slice(signature, 0, 32), uint256)
    s: uint256 = convert(slice(signature, 32, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    assert v == 27 or v == 28, "signature v must be 27 or 28"
    assert s != 0 and s <= HALF_N, "signature s out of range"
    digest: bytes32 = keccak256(concat(b"\x19\x01", self._domain_separator(), struct_hash))
    recovered: address = ecrecover(digest, v, r, s)
    assert recovered != empty(address) and recovered == signer, "signature is not the publisher's"
    nonce: uint256 = self.nonces[signer]
    self.nonces[signer] = nonce + 1
    log NonceUsed(publisher=signer, nonce=nonce)


@internal
def _claim(name: String[MAX_NAME], publisher: address):
    assert publisher != empty(address), "no publisher"
    assert self._valid_name(name), "name must be PEP 503 normalized: a-z, 0-9 and single '-' between them"
    name_hash: bytes32 = keccak256(name)
    assert self.publishers[name_hash] == empty(address), "name already claimed"
    self.publishers[name_hash] = publisher
    log NameClaimed(name_hash=name_hash, publisher=publisher, name=name)


@internal
def _record(
    name: String[MAX_NAME],
    name_hash: bytes32,
    version: String[MAX_VERSION],
    cid: String[MAX_CID],
    manifest_digest: bytes32,
    publisher: address,
):
    assert len(version) != 0 and self._only(convert(version, Bytes[MAX_CID]), VERSION_CHARS), "bad version"
    assert len(cid) >= MIN_CID and self._only(convert(cid, Bytes[MAX_CID]), CID_CHARS), "bad cid"
    assert manifest_digest != empty(bytes32), "empty manifest digest"
    version_hash: bytes32 = keccak256(version)
    assert len(self._releases[name_hash][version_hash].cid) == 0, "version already recorded"
    self._releases[name_hash][version_hash] = Release(cid=cid, manifest_digest=manifest_digest)
    log ReleaseRecorded(
        name_hash=name_hash,
        version_hash=version_hash,
        publisher=publisher,
        name=name,
        version=version,
        cid=cid,
        manifest_digest=manifest_digest,
    )


@internal
@pure
def _only(text: Bytes[MAX_CID], allowed: uint256) -> bool:
    for i: uint256 in range(len(text), bound=MAX_CID):
        c: uint256 = convert(slice(text, i, 1), uint256)
        if (allowed >> c) & 1 == 0:
            return False
    return True


@internal
@pure
def _valid_name(name: String[MAX_NAME]) -> bool:
    text: Bytes[MAX_NAME] = convert(name, Bytes[MAX_NAME])
    n: uint256 = len(text)
    if n == 0:
        return False
    previous: uint256 = DASH  # so that a leading '-' is refused
    for i: uint256 in range(n, bound=MAX_NAME):
        c: uint256 = convert(slice(text, i, 1), uint256)
        if (NAME_CHARS >> c) & 1 == 0:
            return False
        if c == DASH and previous == DASH:
            return False
        previous = c
    return previous != DASH
