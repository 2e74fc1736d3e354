# pragma version 0.4.3
# pragma evm-version cancun
# pragma optimize gas
"""
@title Plugyard shop
@license MIT
@notice Listings of plugin names with a price in wei, purchases that entitle the buyer's address, and
        pull-payment withdrawals.

Decisions
- The seller of a name is its publisher in the ReleaseRegistry (read at every call, never copied), so only
  the publisher lists, reprices or delists it, and a sale credits whoever publishes the name when it is sold.
- A listing has a price in wei; 0 means free: `buy` then records the entitlement and moves no ether. A
  listing is a flag beside the price, so an unlisted name is refused even though its price reads 0.
- `buy(name, max_price)` refuses an unlisted name, a price above the buyer's `max_price` (a price raised
  between quote and purchase), a `msg.value` other than the price (no overpayment to strand, no change to
  give), and a buyer already entitled (nobody pays twice). It credits the seller and the treasury in
  `balances` and sends nothing: payments are pulled by `withdraw` (or `withdraw_to`), which zeroes the
  balance before the transfer (checks-effects-interactions) and holds the contract's reentrancy lock, as
  `buy` does, so a recipient's code can re-enter neither. A recipient whose receive reverts makes only its
  own withdrawal fail (its balance stays); it can still `withdraw_to` another address.
- The fee is in basis points of the price, set at deploy, at most 1000 (10%), with a treasury address that
  must be set when the fee is not zero. fee = floor(price * fee_bps / 10000), computed without ever forming
  price * fee_bps, so no price up to 2**256 - 1 overflows; the seller gets price - fee.
- Delisting stops sales; entitlements already bought stay. The name's publisher is always entitled.
- Events for every state change, indexed by keccak256(name) like the registry's.
"""

MAX_NAME: constant(uint256) = 100
MAX_FEE_BPS: constant(uint256) = 1000
BPS: constant(uint256) = 10000


interface ReleaseRegistry:
    def publisher_of(name: String[MAX_NAME]) -> address: view


struct Listing:
    price: uint256
    listed: bool

event Listed:
    name_hash: indexed(bytes32)
    seller: indexed(address)
    name: String[MAX_NAME]
    price: uint256

event PriceChanged:
    name_hash: indexed(bytes32)
    seller: indexed(address)
    name: String[MAX_NAME]
    old_price: uint256
    new_price: uint256

event Delisted:
    name_hash: indexed(bytes32)
    seller: indexed(address)
    name: String[MAX_NAME]

event Purchased:
    name_hash: indexed(bytes32)
    buyer: indexed(address)
    seller: indexed(address)
    name: String[MAX_NAME]
    price: uint256
    fee: uint256

event Withdrawn:
    account: indexed(address)
    recipient: indexed(address)
    amount: uint256


registry: public(immutable(ReleaseRegistry))
treasury: public(immutable(address))
fee_bps: public(immutable(uint256))

_listings: HashMap[bytes32, Listing]
# keccak256(name) -> buyer -> entitled
_entitlements: HashMap[bytes32, HashMap[address, bool]]
# wei each account may withdraw
balances: public(HashMap[address, uint256])


@deploy
def __init__(release_registry: address, treasury_: address, fee_bps_: uint256):
    assert release_registry.is_contract, "registry is not a contract"
    assert fee_bps_ <= MAX_FEE_BPS, "fee above 1000 basis points"
    assert fee_bps_ == 0 or treasury_ != empty(address), "a fee needs a treasury"
    registry = ReleaseRegistry(release_registry)
    treasury = treasury_
    fee_bps = fee_bps_


@external
@view
def listing(name: String[MAX_NAME]) -> (bool, uint256):
    """
    @notice (listed, price in wei).
    """
    entry: Listing = self._listings[keccak256(name)]
    return entry.listed, entry.price


@external
@view
def seller_of(name: String[MAX_NAME]) -> address:
    return staticcall registry.publisher_of(name)


@external
@view
def fee_of(price: uint256) -> uint256:
    return self._fee(price)


@external
@view
def entitled(name: String[MAX_NAME], account: address) -> bool:
    """
    @notice Whether `account` bought `name` (or claimed it free), or publishes it.
    """
    if account == empty(address):
        return False
    if self._entitlements[keccak256(name)][account]:
        return True
    return account == staticcall registry.publisher_of(name)


@external
def list(name: String[MAX_NAME], price: uint256):
    """
    @notice Lists `name` at `price` wei (0: free), or changes its price. Only the name's publisher.
    """
    seller: address = self._only_publisher(name)
    name_hash: bytes32 = keccak256(name)
    entry: Listing = self._listings[name_hash]
    self._listings[name_hash] = Listing(price=price, listed=True)
    if entry.listed:
        log PriceChanged(name_hash=name_hash, seller=seller, name=name, old_price=entry.price, new_price=price)
    else:
        log Listed(name_hash=name_hash, seller=seller, name=name, price=price)


@external
def delist(name: String[MAX_NAME]):
    seller: address = self._only_publisher(name)
    name_hash: bytes32 = keccak256(name)
    assert self._listings[name_hash].listed, "not listed"
    self._listings[name_hash] = empty(Listing)
    log Delisted(name_hash=name_hash, seller=seller, name=name)


@external
@payable
@nonreentrant
def buy(name: String[MAX_NAME], max_price: uint256):
    """
    @notice Buys `name` for the sender at its listed price, sent as msg.value; refused when the price is
            above `max_price`.
    """
    name_hash: bytes32 = keccak256(name)
    entry: Listing = self._listings[name_hash]
    assert entry.listed, "not listed"
    assert entry.price <= max_price, "price is above max_price"
    assert msg.value == entry.price, "value must equal the price"
    assert not self._entitlements[name_hash][msg.sender], "already entitled"
    seller: address = staticcall registry.publisher_of(name)
    assert seller != empty(address), "name has no publisher"
    fee: uint256 = self._fee(entry.price)
    self._entitlements[name_hash][msg.sender] = True
    if fee != 0:
        self.balances[treasury] += fee
    if entry.price != fee:
        self.balances[seller] += entry.price - fee
    log Purchased(name_hash=name_hash, buyer=msg.sender, seller=seller, name=name, price=entry.price, fee=fee)


@external
@nonreentrant
def withdraw():
    """
    @notice Sends the sender's whole balance to the sender.
    """
    self._withdraw(msg.sender)


@external
@nonreentrant
def withdraw_to(recipient: address):
    """
    @notice Sends the sender's whole balance to `recipient` (for an account that cannot receive ether).
    """
    assert recipient != empty(address), "no recipient"
    self._withdraw(recipient)


@internal
def _withdraw(recipient: address):
    amount: uint256 = self.balances[msg.sender]
    assert amount != 0, "nothing to withdraw"
    self.balances[msg.sender] = 0
    log Withdrawn(account=msg.sender, recipient=recipient, amount=amount)
    raw_call(recipient, b"", value=amount)


@internal
@view
def _only_publisher(name: String[MAX_NAME]) -> address:
    publisher: address = staticcall registry.publisher_of(name)
    assert publisher != empty(address), "name not claimed"
    assert publisher == msg.sender, "only the name's publisher"
    return publisher


@internal
@view
def _fee(price: uint256) -> uint256:
    # floor(price * fee_bps / BPS) without the product, which could overflow.
    return price // BPS * fee_bps + price % BPS * fee_bps // BPS
