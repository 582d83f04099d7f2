"""The participants' web app in Debian's Chromium: a wallet connects by EIP-6963, the participant
page shows what the chain holds, an order signed in the page reaches the operator's inbox and
trades when the operator settles the interval, escrow comes back out exactly (never more than
is in it), an order is cancelled from the page before its gate and not after, an order outside
the book's range is refused before the wallet signs and one at its limits travels exactly,
credits are retired, the dashboard draws its charts, every page's text meets WCAG AA contrast,
a phone shows it without sideways scrolling, and the keyboard reaches every control."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from web_world import (
    DOLLARS,
    GATE_DELAY_S,
    SCREENSHOTS,
    TestWalletBridge,
    WebWorld,
    browser,
    contrast,
    kwh_text,
    units_input,
    usd_text,
    wallet_context,
    web_world,
)

from gridledger.cli.demo import INTERVAL_S
from gridledger.market.book import signed_order_json
from gridledger.market.clearing import MAX_ORDER_ENERGY_WH, MAX_PRICE_PER_KWH
from gridledger.market.escrow import deposit_energy, deposit_payment
from gridledger.market.orders import Order, Side, market_domain_separator

__all__ = ["browser", "web_world"]  # fixtures
pytestmark = pytest.mark.browser

WAIT_MS = 30_000


@pytest.fixture
def page(browser: Browser, web_world: WebWorld) -> Iterator[Page]:
    context, opened, _ = wallet_context(browser, web_world)
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def wallet_page(browser: Browser, web_world: WebWorld) -> Iterator[tuple[Page, TestWalletBridge]]:
    """A page with the prosumer's wallet, and what that wallet was asked."""
    context, opened, bridge = wallet_context(browser, web_world)
    try:
        yield opened, bridge
    finally:
        context.close()


def _connect(page: Page, world: WebWorld, route: str = "#/participant") -> None:
    page.goto(f"{world.app_url}/{route}")
    page.get_by_role("button", name="Connect wallet").click()
    expect(page.get_by_test_id("account")).to_contain_text(world.wallet_address[:6], timeout=WAIT_MS)
    expect(page.get_by_role("status")).to_contain_text("Connected", timeout=WAIT_MS)


def _next_interval(world: WebWorld) -> int:
    """The first interval the order form offers: the one after the chain's current one."""
    now = world.chain_time()
    return now - now % INTERVAL_S + INTERVAL_S


def _place_order(
    page: Page, world: WebWorld, interval: int, side: str, kwh: str, price: str
) -> dict[str, Any]:
    """Sign and place an order from the page's form; the order file the operator's inbox got."""
    page.get_by_label("Side").select_option(side)
    page.get_by_label("Delivery interval").select_option(str(interval))
    page.get_by_label("Energy (kWh)").fill(kwh)
    page.get_by_label(re.compile("Limit price")).fill(price)
    page.get_by_role("button", name="Sign and place order").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text(re.compile(r"Order placed for .*: 0x[0-9a-f]{64}"), timeout=WAIT_MS)
    found = re.search(r"0x([0-9a-f]{64})", status.inner_text())
    assert found is not None
    path = world.orders / str(interval) / f"{found[1]}.json"
    assert path.exists(), f"{path} is not in the inbox"
    placed: dict[str, Any] = json.loads(path.read_text())
    assert placed["orderHash"] == found[1]
    return placed


def _short(order_hash: str) -> str:
    """An order hash as the page abbreviates it (0x and 4 digits … 4 digits)."""
    hex_digits = order_hash.removeprefix("0x")
    return f"0x{hex_digits[:4]}…{hex_digits[-4:]}"


def _symbol(world: WebWorld) -> str:
    return str(world.call("TestStablecoin", world.system.payment_token, "symbol")[0])


def test_participant_page_showsTheChainsFigures(page: Page, web_world: WebWorld) -> None:
    world = web_world
    assert _symbol(world) == "tUSD"
    _connect(page, world)
    anna = world.wallet_address
    current, previous = world.call("EnergyToken", world.system.token, "liveBuckets", anna)
    payment, energy = world.call("EnergyMarket", world.system.market, "accountOf", anna)
    (held,) = world.call("TestStablecoin", world.system.payment_token, "balanceOf", anna)
    assert current + previous > 0 and held > 0
    expect(page.get_by_test_id("energy-live")).to_have_text(kwh_text(current + previous), timeout=WAIT_MS)
    expect(page.get_by_test_id("energy-expiring")).to_have_text(kwh_text(previous))
    expect(page.get_by_test_id("payment-balance")).to_have_text(usd_text(held))
    expect(page.get_by_test_id("escrow-payment")).to_have_text(usd_text(payment))
    expect(page.get_by_test_id("escrow-energy")).to_have_text(kwh_text(energy))
    (token_balance,) = world.call("EnergyToken", world.system.token, "balanceOf", anna)
    expect(page.get_by_test_id("energy-indexed")).to_have_text(kwh_text(token_balance))
    meters = page.get_by_role("region", name="Meters and their last readings")
    expect(meters).to_contain_text("Solar")
    expect(meters).to_contain_text("accepted")
    if world.certificate_id is not None:
        (grams,) = world.call("CarbonCredit", world.system.carbon, "balanceOf", anna, world.certificate_id)
        expect(page.get_by_test_id("carbon-held")).to_have_text(
            f"{grams:,} g CO₂e" if grams < 10000 else re.compile("t CO₂e")
        )
    page.screenshot(path=str(SCREENSHOTS / "participant.png"), full_page=True)


def test_trade_escrowSignOrderSettle_tradeShowsOnThePage(page: Page, web_world: WebWorld) -> None:
    world = web_world
    anna = world.wallet_address
    _connect(page, world, "#/trade")
    payment_before, energy_before = world.call("EnergyMarket", world.system.market, "accountOf", anna)
    # Energy escrow through the wallet (depositEnergy).
    page.get_by_label("Asset").select_option("energy")
    page.get_by_label("Amount", exact=True).fill("1.000")
    page.get_by_role("button", name="Deposit").click()
    expect(page.get_by_role("status")).to_contain_text("Deposited 1.000 kWh", timeout=WAIT_MS)
    # Payment escrow: approve, then depositPayment.
    page.get_by_label("Asset").select_option("payment")
    page.get_by_label("Amount", exact=True).fill("2.50")
    page.get_by_role("button", name="Deposit").click()
    expect(page.get_by_role("status")).to_contain_text("Deposited 2.50 tUSD", timeout=WAIT_MS)
    payment_after, energy_after = world.call("EnergyMarket", world.system.market, "accountOf", anna)
    assert energy_after - energy_before == 1_000
    assert payment_after - payment_before == 2_500_000
    expect(page.get_by_test_id("trade-escrow-energy")).to_have_text(kwh_text(energy_after))
    # A sell order signed in the page for the next interval.
    now = world.chain_time()
    interval = now - now % INTERVAL_S + INTERVAL_S
    page.get_by_label("Side").select_option("0")
    page.get_by_label("Delivery interval").select_option(str(interval))
    page.get_by_label("Energy (kWh)").fill("0.600")
    page.get_by_label(re.compile("Limit price")).fill("0.10")
    page.get_by_role("button", name="Sign and place order").click()
    expect(page.get_by_role("status")).to_contain_text("Order placed", timeout=WAIT_MS)
    inbox = list((world.orders / str(interval)).glob("*.json"))
    assert len(inbox) == 1
    placed = json.loads(inbox[0].read_text())
    assert placed["order"]["trader"].lower() == anna.lower()
    assert (placed["order"]["side"], placed["order"]["energyWh"]) == (0, 600)
    assert placed["order"]["limitPricePerKWh"] == 100_000
    # An order the API refuses is explained in words (a duplicate-free but unaffordable amount).
    page.get_by_label("Energy (kWh)").fill("abc")
    page.get_by_role("button", name="Sign and place order").click()
    expect(page.get_by_role("status")).to_contain_text("not an amount")
    # The neighbour bids through the API; the operator settles the interval.
    carla = world.participants[2]
    domain = market_domain_separator(world.chain.chain_id, world.system.market)
    bid = Order(carla.owner, Side.BUY, 1, interval, 600, 300_000, carla.grid_node_id, interval + 3600, 7)
    accepted = world.post_order(signed_order_json(carla.trader.sign_order(bid, domain)))
    assert accepted.status_code == 201, accepted.text
    lines = world.settle(interval)
    assert any(line["event"] == "settled" for line in lines), lines
    # The page follows the index: the order is filled and the trade is on the participant page.
    status = page.get_by_test_id(f"order-status-0x{placed['orderHash'].removeprefix('0x')}")
    expect(status).to_have_text("filled 0.600 kWh", timeout=WAIT_MS)
    page.screenshot(path=str(SCREENSHOTS / "trading.png"), full_page=True)
    page.goto(f"{world.app_url}/#/participant")
    trades = page.get_by_role("table", name="Trades")
    expect(trades).to_contain_text("sold", timeout=WAIT_MS)
    expect(trades).to_contain_text("0.600 kWh")
    expect(page.get_by_test_id("sold")).to_have_text("0.600 kWh")


def test_carbon_retireWithBeneficiaryAndPurpose(page: Page, web_world: WebWorld) -> None:
    world = web_world
    if world.certificate_id is None:
        pytest.skip("the world issued no carbon certificate")
    anna = world.wallet_address
    _connect(page, world, "#/carbon")
    before = world.call("CarbonCredit", world.system.carbon, "liveBalanceOf", anna, world.certificate_id)[0]
    assert before >= 100
    beneficiary = world.participants[2].owner
    page.get_by_label("Certificate").select_option(str(world.certificate_id))
    page.get_by_label("Amount (g CO₂e)").fill("100")
    page.get_by_label("Beneficiary address").fill(beneficiary)
    page.get_by_label("Purpose").fill("Carla's 2026 heat pump")
    page.get_by_role("button", name="Retire credits").click()
    expect(page.get_by_role("status")).to_contain_text("Retired 100 g CO₂e", timeout=WAIT_MS)
    after = world.call("CarbonCredit", world.system.carbon, "liveBalanceOf", anna, world.certificate_id)[0]
    assert before - after == 100
    world.index()
    retirements = page.get_by_role("table", name="Retirements")
    expect(retirements).to_contain_text("Carla's 2026 heat pump", timeout=WAIT_MS)
    page.screenshot(path=str(SCREENSHOTS / "carbon.png"), full_page=True)


def test_escrow_withdrawFromTheTradePage_movesExactlyTheAmount(
    wallet_page: tuple[Page, TestWalletBridge], web_world: WebWorld
) -> None:
    page, wallet = wallet_page
    world = web_world
    prosumer = world.wallet_address
    deposit_payment(world.chain, world.system, prosumer, 3 * DOLLARS)
    deposit_energy(world.chain, world.system, prosumer, 500)
    _connect(page, world, "#/trade")
    payment, energy = world.call("EnergyMarket", world.system.market, "accountOf", prosumer)
    (held,) = world.call("TestStablecoin", world.system.payment_token, "balanceOf", prosumer)
    (tokens,) = world.call("EnergyToken", world.system.token, "balanceOf", prosumer)
    expect(page.get_by_test_id("trade-escrow-payment")).to_have_text(usd_text(payment), timeout=WAIT_MS)
    expect(page.get_by_test_id("trade-escrow-energy")).to_have_text(kwh_text(energy))
    # Energy back from escrow into the wallet.
    page.get_by_label("Asset").select_option("energy")
    page.get_by_label("Amount", exact=True).fill("0.250")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("status")).to_have_text("Withdrew 0.250 kWh.", timeout=WAIT_MS)
    energy -= 250
    assert world.call("EnergyMarket", world.system.market, "accountOf", prosumer) == (payment, energy)
    assert world.call("EnergyToken", world.system.token, "balanceOf", prosumer) == (tokens + 250,)
    expect(page.get_by_test_id("trade-escrow-energy")).to_have_text(kwh_text(energy))
    # Payment back from escrow into the wallet.
    page.get_by_label("Asset").select_option("payment")
    page.get_by_label("Amount", exact=True).fill("1.25")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("status")).to_have_text("Withdrew 1.25 tUSD.", timeout=WAIT_MS)
    payment -= 1_250_000
    assert world.call("EnergyMarket", world.system.market, "accountOf", prosumer) == (payment, energy)
    assert world.call("TestStablecoin", world.system.payment_token, "balanceOf", prosumer) == (
        held + 1_250_000,
    )
    expect(page.get_by_test_id("trade-escrow-payment")).to_have_text(usd_text(payment))
    # More than the escrow holds: refused in words, before the wallet is asked to send anything.
    sent = wallet.requests.count("eth_sendTransaction")
    page.get_by_label("Amount", exact=True).fill(units_input(payment + 10_000, 6))
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("status")).to_have_text(
        f"The withdrawal failed. Only {usd_text(payment)} is in escrow, less than the "
        f"{usd_text(payment + 10_000)} asked; nothing was withdrawn.",
        timeout=WAIT_MS,
    )
    page.get_by_label("Asset").select_option("energy")
    page.get_by_label("Amount", exact=True).fill(units_input(energy + 1, 3))
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("status")).to_have_text(
        f"The withdrawal failed. Only {kwh_text(energy)} is in escrow, less than the "
        f"{kwh_text(energy + 1)} asked; nothing was withdrawn.",
        timeout=WAIT_MS,
    )
    assert world.call("EnergyMarket", world.system.market, "accountOf", prosumer) == (payment, energy)
    assert wallet.requests.count("eth_sendTransaction") == sent
    expect(page.get_by_test_id("trade-escrow-payment")).to_have_text(usd_text(payment))
    expect(page.get_by_test_id("trade-escrow-energy")).to_have_text(kwh_text(energy))


def test_myOrders_cancelBeforeTheGate_takesTheOrderOutOfTheInbox(page: Page, web_world: WebWorld) -> None:
    world = web_world
    _connect(page, world, "#/trade")
    interval = _next_interval(world) + INTERVAL_S
    placed = _place_order(page, world, interval, "0", "0.100", "0.10")
    path = world.orders / str(interval) / f"{placed['orderHash']}.json"
    status = page.get_by_test_id(f"order-status-0x{placed['orderHash']}")
    expect(status).to_have_text("open for orders", timeout=WAIT_MS)
    cancel = page.get_by_role("button", name=f"Cancel order {_short(placed['orderHash'])}")
    cancel.click()
    expect(page.get_by_role("status")).to_have_text(
        f"Order {_short(placed['orderHash'])} cancelled.", timeout=WAIT_MS
    )
    assert not path.exists()
    expect(status).to_have_text("cancelled")
    expect(cancel).to_have_count(0)


def test_orderForm_outsideTheBooksRange_refusedBeforeTheWalletSigns(
    wallet_page: tuple[Page, TestWalletBridge], web_world: WebWorld
) -> None:
    page, wallet = wallet_page
    world = web_world
    assert max(MAX_PRICE_PER_KWH, MAX_ORDER_ENERGY_WH) < 2**53  # so past 2^53 is past the book's range
    _connect(page, world, "#/trade")
    interval = _next_interval(world)
    inbox = sorted(world.orders.rglob("*.json"))

    def too_dear(units: int) -> str:
        highest = usd_text(MAX_PRICE_PER_KWH)
        return f"a limit price of {usd_text(units)}/kWh is above the market's highest, {highest}/kWh"

    def too_much(wh: int) -> str:
        return f"{kwh_text(wh)} is more than the market takes in one order, {kwh_text(MAX_ORDER_ENERGY_WH)}"

    cases = [  # energy typed, price typed, why the page refuses
        ("0.600", units_input(2**53 + 1, 6), too_dear(2**53 + 1)),
        ("0.600", units_input(MAX_PRICE_PER_KWH + 1, 6), too_dear(MAX_PRICE_PER_KWH + 1)),
        (units_input(2**53 + 1, 3), "0.10", too_much(2**53 + 1)),
        (units_input(MAX_ORDER_ENERGY_WH + 1, 3), "0.10", too_much(MAX_ORDER_ENERGY_WH + 1)),
    ]
    page.get_by_label("Side").select_option("1")
    page.get_by_label("Delivery interval").select_option(str(interval))
    for energy, price, why in cases:
        page.get_by_label("Energy (kWh)").fill(energy)
        page.get_by_label(re.compile("Limit price")).fill(price)
        page.get_by_role("button", name="Sign and place order").click()
        expect(page.get_by_role("status")).to_have_text(f"The order was not placed. {why}")
    assert "eth_signTypedData_v4" not in wallet.requests
    assert sorted(world.orders.rglob("*.json")) == inbox


def test_orderForm_atTheBooksLimits_signsAndPlacesTheExactValues(
    wallet_page: tuple[Page, TestWalletBridge], web_world: WebWorld
) -> None:
    page, wallet = wallet_page
    world = web_world
    _connect(page, world, "#/trade")
    # The page's nonce words (two random uint32) made 2^53 + 1: a Number would round it to 2^53.
    page.evaluate(
        """() => {
            const random = crypto.getRandomValues.bind(crypto);
            const nonceWords = (words) => words instanceof Uint32Array && words.length === 2;
            const exact = (words) => (words.set([2 ** 21, 1]), words);
            crypto.getRandomValues = (words) => (nonceWords(words) ? exact(words) : random(words));
        }"""
    )
    interval = _next_interval(world) + 2 * INTERVAL_S
    placed = _place_order(
        page, world, interval, "1", units_input(MAX_ORDER_ENERGY_WH, 3), units_input(MAX_PRICE_PER_KWH, 6)
    )
    order = placed["order"]
    assert (order["energyWh"], order["limitPricePerKWh"]) == (MAX_ORDER_ENERGY_WH, MAX_PRICE_PER_KWH)
    assert order["nonce"] == 2**53 + 1
    # What the wallet signed: the same integers, as exact decimal text.
    (typed,) = wallet.typed_data
    signed = typed["message"]
    assert (signed["energyWh"], signed["limitPricePerKWh"], signed["nonce"]) == (
        str(MAX_ORDER_ENERGY_WH),
        str(MAX_PRICE_PER_KWH),
        str(2**53 + 1),
    )
    assert {name: int(signed[name]) for name in order if name != "trader"} == {
        name: value for name, value in order.items() if name != "trader"
    }


def test_myOrders_cancelAfterTheGate_isRefusedWithTheApisMessage(page: Page, web_world: WebWorld) -> None:
    world = web_world
    _connect(page, world, "#/trade")
    interval = _next_interval(world)
    placed = _place_order(page, world, interval, "0", "0.100", "0.10")
    path = world.orders / str(interval) / f"{placed['orderHash']}.json"
    # The market's clock passes the interval's gate (the operator would be freezing its book).
    world.mine_at(interval + INTERVAL_S + GATE_DELAY_S)
    page.get_by_role("button", name=f"Cancel order {_short(placed['orderHash'])}").click()
    expect(page.get_by_role("status")).to_have_text(
        "The order was not cancelled. Gate closed: the book of this interval is frozen; cancel on-chain "
        f"with invalidateNonces (nonce {placed['order']['nonce']})",
        timeout=WAIT_MS,
    )
    assert path.exists()
    expect(page.get_by_test_id(f"order-status-0x{placed['orderHash']}")).not_to_have_text("cancelled")


def test_dashboard_drawsTheDaysChartsAndZones(page: Page, web_world: WebWorld) -> None:
    world = web_world
    page.goto(f"{world.app_url}/#/community")
    expect(page.get_by_test_id("day-minted")).to_contain_text("kWh", timeout=WAIT_MS)
    expect(page.locator(".uplot").first).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("region", name="Zones and their state")).to_contain_text("Normal")
    expect(page.get_by_test_id("day-self-sufficiency")).to_contain_text("%")
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)


def test_phone_viewport_hasNoHorizontalScroll(browser: Browser, web_world: WebWorld) -> None:
    context, phone, _ = wallet_context(browser, web_world, {"width": 390, "height": 844})
    try:
        for route in ("#/community", "#/participant", "#/trade", "#/carbon"):
            if route == "#/participant":
                _connect(phone, web_world, route)
            else:
                phone.goto(f"{web_world.app_url}/{route}")
            phone.wait_for_load_state("networkidle")
            phone.locator("main h1").wait_for()
            widths = phone.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert widths[0] <= widths[1], (route, widths)
        phone.goto(f"{web_world.app_url}/#/participant")
        expect(phone.get_by_test_id("energy-live")).to_be_visible(timeout=WAIT_MS)
        phone.screenshot(path=str(SCREENSHOTS / "phone.png"), full_page=True)
    finally:
        context.close()


def test_contrast_everyVisibleTextMeetsWcagAA(page: Page, web_world: WebWorld) -> None:
    world = web_world
    _connect(page, world, "#/participant")
    expect(page.get_by_test_id("energy-live")).to_be_visible(timeout=WAIT_MS)
    # The measure itself: grey #808080 on white (3.95:1) fails as body text and passes as large text.
    page.evaluate(
        """() => document.getElementById("main").insertAdjacentHTML("beforeend",
            '<p id="probe-small" style="color:#808080">small grey probe</p>' +
            '<p id="probe-large" style="color:#808080;font-size:24px">large grey probe</p>')"""
    )
    _, failures = contrast(page)
    assert [f["text"] for f in failures] == ["small grey probe"], failures
    page.evaluate(
        "() => ['probe-small', 'probe-large'].forEach((id) => document.getElementById(id).remove())"
    )
    retirements = page.locator("section[aria-labelledby=h-retirements]").locator("table, p.empty")
    ready = {  # each page's last-drawn parts
        "My energy": [page.get_by_role("region", name="Meters and their last readings")],
        "Trade": [page.get_by_test_id("trade-escrow-payment"), page.get_by_role("heading", name="My orders")],
        "Carbon": [page.get_by_test_id("carbon-page-held"), retirements],
        "Community": [
            page.get_by_test_id("day-minted"),
            page.get_by_role("region", name="Zones and their state"),
        ],
    }
    for link, parts in ready.items():
        page.get_by_role("navigation", name="Pages").get_by_role("link", name=link).click()
        for part in parts:
            expect(part).to_be_visible(timeout=WAIT_MS)
        measured, failures = contrast(page)
        assert measured >= 20 and failures == [], (link, measured, failures)
    # An error in the status region, and a placeholder.
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="My energy").click()
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("status")).to_have_text("An address is 0x and 40 hex digits.")
    measured, failures = contrast(page)
    assert failures == [], failures


def _tab_to(page: Page, predicate: str, limit: int = 60) -> bool:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(predicate):
            return True
    return False


def test_keyboard_reachesConnectAndTheOrderForm(page: Page, web_world: WebWorld) -> None:
    world = web_world
    page.goto(f"{world.app_url}/#/trade")
    page.locator("#connect-wallet").wait_for()
    assert _tab_to(page, "document.activeElement && document.activeElement.id === 'connect-wallet'")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("account")).to_be_visible(timeout=WAIT_MS)
    page.locator("#order-form").wait_for()
    assert _tab_to(page, "document.activeElement && document.activeElement.id === 'order-side'")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    assert _tab_to(page, "document.activeElement && document.activeElement.id === 'place-order'")


def test_root_leadsToTheWebApp(web_world: WebWorld) -> None:
    answer = httpx.get(f"{web_world.api_url}/", follow_redirects=False, timeout=30)
    assert answer.status_code == 307 and answer.headers["location"] == "/web/"
    page = httpx.get(f"{web_world.api_url}/web/", timeout=30)
    assert page.status_code == 200 and '<script type="module" src="app.js">' in page.text
    assert httpx.get(f"{web_world.api_url}/web/__init__.py", timeout=30).status_code == 404


def test_webFiles_carryAContentSecurityPolicy(web_world: WebWorld) -> None:
    page = httpx.get(f"{web_world.app_url}/", timeout=30)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
