# pragma version 0.4.3
# pragma evm-version cancun
"""
@notice A hostile seller for the shop's tests. It claims a name in the registry and lists it, so that sales
        credit it; when the shop pays it (withdraw), its receive code does what `mode` says:
        0 accept; 1 re-enter withdraw(); 2 re-enter withdraw() and swallow the failure; 3 re-enter
        buy(target, price); 4 re-enter buy and swallow the failure; 5 revert (a recipient that refuses ether).
        It counts its attempts and records whether any re-entry got through.
"""

interface Registry:
    def commit(commitment: bytes32): nonpayable
    def claim(name: String[100], salt: bytes32): nonpayable

interface Shop:
    def list(name: String[100], price: uint256): nonpayable
    def buy(name: String[100], max_price: uint256): payable
    def withdraw(): nonpayable
    def withdraw_to(recipient: address): nonpayable

shop: public(Shop)
registry: public(Registry)
mode: public(uint256)
target: public(String[100])
target_price: public(uint256)
attempts: public(uint256)
reentered: public(bool)
received: public(uint256)


@deploy
def __init__(shop_: address, registry_: address):
    self.shop = Shop(shop_)
    self.registry = Registry(registry_)


@external
def set_mode(mode: uint256, target: String[100], target_price: uint256):
    self.mode = mode
    self.target = target
    self.target_price = target_price


@external
def commit(commitment: bytes32):
    extcall self.registry.commit(commitment)


@external
def claim(name: String[100], salt: bytes32):
    extcall self.registry.claim(name, salt)


@external
def list(name: String[100], price: uint256):
    extcall self.shop.list(name, price)


@external
@payable
def buy(name: String[100], max_price: uint256):
    extcall self.shop.buy(name, max_price, value=msg.value)


@external
def withdraw():
    extcall self.shop.withdraw()


@external
def withdraw_to(recipient: address):
    extcall self.shop.withdraw_to(recipient)


@external
@payable
def __default__():
    self.received += msg.value
    mode: uint256 = self.mode
    if mode == 1:
        self.attempts += 1
        extcall self.shop.withdraw()
        self.reentered = True
    elif mode == 2:
        self.attempts += 1
        ok: bool = raw_call(self.shop.address, method_id("withdraw()"), revert_on_failure=False)
        if ok:
            self.reentered = True
    elif mode == 3:
        self.attempts += 1
        extcall self.shop.buy(self.target, self.target_price, value=self.target_price)
        self.reentered = True
    elif mode == 4:
        self.attempts += 1
        ok: bool = raw_call(
            self.shop.address,
            abi_encode(self.target, self.target_price, method_id=method_id("buy(string,uint256)")),
            value=self.target_price,
            revert_on_failure=False,
        )
        if ok:
            self.reentered = True
    elif mode == 5:
        raise "this recipient refuses ether"
