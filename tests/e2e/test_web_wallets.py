"""Wallets in the web app, in Debian's Chromium: of several EIP-6963 wallets the participant picks
one and the page connects that one; a wallet on another chain is told so, is switched to the
market's chain (the chain added first if the wallet lacks it) and can then transact."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect
from web_world import (
    TEST_WALLET,
    TestWalletBridge,
    WalletInfo,
    WebWorld,
    browser,
    contrast,
    usd_text,
    wallets_context,
    web_world,
)

from gridledger.chain.hashing import keccak

__all__ = ["browser", "web_world"]  # fixtures
pytestmark = pytest.mark.browser

WAIT_MS = 30_000
OTHER_CHAIN = 11_155_111  # Sepolia: a chain the market does not run on
SECOND_WALLET = WalletInfo(
    "0c8e3f5a-2d47-4b1e-9a6c-3e5f7d9b1a24", "Second Test Wallet", "dev.gridledger.second"
)


@pytest.mark.parametrize("chosen", [0, 1], ids=["first", "second"])
def test_twoWallets_thePickedOneConnects(browser: Browser, web_world: WebWorld, chosen: int) -> None:
    world = web_world
    wallets = [
        TestWalletBridge(world),  # the prosumer's
        TestWalletBridge(world, keccak(text="carla"), SECOND_WALLET),  # the neighbour's
    ]
    picked, other = wallets[chosen], wallets[1 - chosen]
    context, page = wallets_context(browser, wallets)
    try:
        page.goto(f"{world.app_url}/#/participant")
        page.get_by_role("button", name="Connect wallet").click()
        chooser = page.get_by_role("dialog", name="Choose a wallet")
        expect(chooser).to_be_visible(timeout=WAIT_MS)
        expect(chooser.locator(".wallet-choice")).to_have_text([TEST_WALLET.name, SECOND_WALLET.name])
        measured, failures = contrast(page)
        assert measured > 0 and failures == [], failures
        chooser.get_by_role("button", name=picked.info.name).click()
        expect(chooser).to_be_hidden()
        account = page.get_by_test_id("account")
        expect(account).to_have_attribute("title", picked.address.lower(), timeout=WAIT_MS)
        expect(account).to_contain_text(picked.info.name)
        # The page reads the picked wallet's account: its escrow as the chain holds it.
        expect(page.get_by_test_id("participant-address")).to_have_text(picked.address.lower())
        payment, _ = world.call("EnergyMarket", world.system.market, "accountOf", picked.address)
        expect(page.get_by_test_id("escrow-payment")).to_have_text(usd_text(payment), timeout=WAIT_MS)
        assert "eth_requestAccounts" in picked.requests
        assert other.requests == []  # the wallet not picked is asked nothing
    finally:
        context.close()


@pytest.mark.parametrize("knows_the_chain", [True, False], ids=["chainKnown", "chainUnknown"])
def test_walletOnAnotherChain_isToldSwitchesAndThenTransacts(
    browser: Browser, web_world: WebWorld, knows_the_chain: bool
) -> None:
    world = web_world
    market_chain = world.chain.chain_id
    wallet = TestWalletBridge(
        world, chain_id=OTHER_CHAIN, known_chains=(market_chain,) if knows_the_chain else ()
    )
    context, page = wallets_context(browser, [wallet])
    try:
        page.goto(f"{world.app_url}/#/trade")
        page.get_by_role("button", name="Connect wallet").click()
        expect(page.get_by_test_id("account")).to_have_attribute(
            "title", wallet.address.lower(), timeout=WAIT_MS
        )
        banner = page.get_by_role("alert")
        expect(banner).to_contain_text(
            f"Wrong network: your wallet is on chain {OTHER_CHAIN}, "
            f"and this market runs on chain {market_chain}.",
            timeout=WAIT_MS,
        )
        expect(page.get_by_text("Connect your wallet on the market's chain to trade.")).to_be_visible()
        expect(page.locator("#escrow-form")).to_have_count(0)
        measured, failures = contrast(page)
        assert measured > 0 and failures == [], failures
        page.get_by_role("button", name="Switch network").click()
        expect(page.get_by_role("status")).to_have_text(f"Switched to chain {market_chain}.", timeout=WAIT_MS)
        expect(banner).to_be_hidden()
        asked = [method for method in wallet.requests if method.startswith("wallet_")]
        if knows_the_chain:
            assert asked == ["wallet_switchEthereumChain"]
            assert wallet.added_chains == []
        else:  # EIP-3326's 4902: add the chain (EIP-3085) with the API's node, then switch
            assert asked == [
                "wallet_switchEthereumChain",
                "wallet_addEthereumChain",
                "wallet_switchEthereumChain",
            ]
            (added,) = wallet.added_chains
            assert (added["chainId"], added["rpcUrls"]) == (hex(market_chain), [world.rpc_url])
        assert wallet.chain_id == market_chain
        # On the market's chain the wallet transacts: a payment escrow deposit.
        before, _ = world.call("EnergyMarket", world.system.market, "accountOf", wallet.address)
        page.get_by_label("Asset").select_option("payment")
        page.get_by_label("Amount", exact=True).fill("1.00")
        page.get_by_role("button", name="Deposit").click()
        expect(page.get_by_role("status")).to_have_text("Deposited 1.00 tUSD.", timeout=WAIT_MS)
        after, _ = world.call("EnergyMarket", world.system.market, "accountOf", wallet.address)
        assert after - before == 1_000_000
        expect(page.get_by_test_id("trade-escrow-payment")).to_have_text(usd_text(after))
    finally:
        context.close()


def test_walletLackingTheChain_andNoNodeNamed_isToldToAddItItself(
    browser: Browser, web_world: WebWorld
) -> None:
    world = web_world
    market_chain = world.chain.chain_id
    wallet = TestWalletBridge(world, chain_id=OTHER_CHAIN)
    context, page = wallets_context(browser, [wallet])

    def without_node(route: Route) -> None:  # an API started without a public RPC address
        answer = route.fetch()
        route.fulfill(response=answer, json={**answer.json(), "rpc_url": None})

    try:
        page.route("**/api/v1/status", without_node)
        page.goto(f"{world.app_url}/#/trade")
        page.get_by_role("button", name="Connect wallet").click()
        page.get_by_role("button", name="Switch network").click()
        expect(page.get_by_role("status")).to_have_text(
            f"Your wallet does not know chain {market_chain}. Add it in the wallet with the RPC address "
            "your operator gives, then switch.",
            timeout=WAIT_MS,
        )
        assert [method for method in wallet.requests if method.startswith("wallet_")] == [
            "wallet_switchEthereumChain"
        ]
        assert wallet.chain_id == OTHER_CHAIN
        expect(page.get_by_role("alert")).to_contain_text("Wrong network")
    finally:
        context.close()
