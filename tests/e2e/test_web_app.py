"""The participants' web app in Debian's Chromium: a wallet connects by EIP-6963, the participant
page shows what the chain holds, an order signed in the page reaches the operator's inbox and
trades when the operator settles the interval, credits are retired, the dashboard draws its
charts, a phone shows it without sideways scrolling, and the keyboard reaches every control."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from web_world import SCREENSHOTS, WebWorld, browser, wallet_context, web_world

from gridledger.cli.demo import INTERVAL_S
from gridledger.market.book import signed_order_json
from gridledger.market.orders import Order, Side, market_domain_separator

__all__ = ["browser", "web_world"]  # fixtures
pytestmark = pytest.mark.browser

WAIT_MS = 30_000


def _kwh(wh: int) -> str:
    return f"{wh / 1000:,.3f} kWh"


def _usd(units: int, symbol: str = "tUSD") -> str:
    """As the page shows payment units: the token's 6 decimals, at least two shown."""
    text = f"{units / 10**6:,.6f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')} {symbol}"


@pytest.fixture
def page(browser: Browser, web_world: WebWorld) -> Iterator[Page]:
    context, opened, _ = wallet_context(browser, web_world)
    try:
        yield opened
    finally:
        context.close()


def _connect(page: Page, world: WebWorld, route: str = "#/participant") -> None:
    page.goto(f"{world.app_url}/{route}")
    page.get_by_role("button", name="Connect wallet").click()
    expect(page.get_by_test_id("account")).to_contain_text(world.wallet_address[:6], timeout=WAIT_MS)
    expect(page.get_by_role("status")).to_contain_text("Connected", timeout=WAIT_MS)


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
    expect(page.get_by_test_id("energy-live")).to_have_text(_kwh(current + previous), timeout=WAIT_MS)
    expect(page.get_by_test_id("energy-expiring")).to_have_text(_kwh(previous))
    expect(page.get_by_test_id("payment-balance")).to_have_text(_usd(held))
    expect(page.get_by_test_id("escrow-payment")).to_have_text(_usd(payment))
    expect(page.get_by_test_id("escrow-energy")).to_have_text(_kwh(energy))
    (token_balance,) = world.call("EnergyToken", world.system.token, "balanceOf", anna)
    expect(page.get_by_test_id("energy-indexed")).to_have_text(_kwh(token_balance))
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
    expect(page.get_by_test_id("trade-escrow-energy")).to_have_text(_kwh(energy_after))
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
