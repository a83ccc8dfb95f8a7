"""The dashboard in a real browser (DESIGN §7.9): Debian's headless chromium, driven by Selenium
through Debian's matching chromium-driver, against a served sandbox.

One browser session for the module. The screenshots it takes are the docs' (docs/images/dashboard-*.png).
Without chromium the module skips, except under ``CI=true`` (``.ci/run`` installs it), where it fails.
"""

from __future__ import annotations

import http.server
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    if os.environ.get("CI") == "true":
        raise RuntimeError(
            f"CI=true but {CHROMIUM} or {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver"
        )
    pytest.skip(
        "no /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import yangguang_sdk as yg  # noqa: E402
from tests.dashboard.scenario import KEY_A, KEY_B, WEBHOOK_EVENTS, bind_policy  # noqa: E402
from tests.servers import ROOT, free_port, start_server, stop_server  # noqa: E402

IMAGES = ROOT / "docs" / "images"
WIDE, PHONE = (1280, 1000), (390, 1200)
WAIT = 30.0
"""Seconds to wait for a page's element: generous, as the machine may be busy."""


class Receiver(http.server.BaseHTTPRequestHandler):
    """The merchant's webhook receiver: answers every delivery 200."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"received": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """A served sandbox; on the way out, its output is checked for the keys (no access log shows them)."""
    port = free_port()
    proc = start_server(["-m", "yangguang_sdk.sandbox", "--port", str(port)], port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        out, err = stop_server(proc)
    for stream in (out, err):
        assert KEY_A.encode() not in stream and KEY_B.encode() not in stream


@pytest.fixture
def api(served: str) -> Iterator[yg.Client]:
    with yg.Client(api_key=KEY_A, base_url=served) as client:
        yield client


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WIDE[0]},{WIDE[1]}",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        "--lang=en-US",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, WAIT)


def sign_in(driver: WebDriver, base: str, key: str) -> None:
    driver.get(f"{base}/dashboard")
    field = wait(driver).until(ec.visibility_of_element_located((By.ID, "key")))
    assert driver.current_url == f"{base}/dashboard/login"
    field.send_keys(key)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver).until(ec.presence_of_element_located((By.ID, "logout")))
    assert key not in driver.page_source and key not in driver.current_url


def open_page(driver: WebDriver, url: str, element_id: str) -> None:
    driver.get(url)
    wait(driver).until(ec.presence_of_element_located((By.ID, element_id)))


def shoot(driver: WebDriver, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(IMAGES / f"dashboard-{name}.png"))


def attempt_rows(driver: WebDriver) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, "#attempts tr.attempt"))


def test_a_merchant_sees_and_steers_its_tenant_in_a_browser(
    served: str, receiver: str, browser: WebDriver, api: yg.Client
) -> None:
    endpoint = api.webhook_endpoints.create(url=receiver, events=WEBHOOK_EVENTS)
    policy = bind_policy(api, order="ORD-BROWSER-1")
    driver = browser

    # sign in, see the bound policy
    sign_in(driver, served, KEY_A)
    cookie = driver.get_cookie("yg_dashboard_key")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/dashboard"
    driver.find_element(By.LINK_TEXT, "Policies").click()
    row = wait(driver).until(ec.presence_of_element_located((By.ID, f"row-{policy.id}")))
    assert "active" in row.text and "ORD-BROWSER-1" in row.text
    row.find_element(By.LINK_TEXT, policy.id).click()
    status = wait(driver).until(ec.presence_of_element_located((By.ID, "policy-status")))
    assert status.text == "active"
    assert len(driver.find_elements(By.CSS_SELECTOR, "#installments tbody tr")) == 12

    # advance the clock a year: the claim is paid
    driver.find_element(By.CSS_SELECTOR, "a.brand").click()
    wait(driver).until(ec.element_to_be_clickable((By.ID, "advance-365"))).click()
    done = wait(driver).until(ec.presence_of_element_located((By.ID, "done")))
    assert "advanced 365 days" in done.text
    shoot(driver, "overview")
    driver.find_element(By.LINK_TEXT, "Claims").click()
    paid = wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, "tbody .s-paid")))
    assert paid.text == "paid"
    claim = api.claims.list().data[0]
    assert claim.status == "paid" and driver.find_element(By.ID, f"row-{claim.id}")
    open_page(driver, f"{served}/dashboard/policies/{policy.id}", "policy-status")
    assert driver.find_element(By.ID, "policy-status").text == "claimed"
    shoot(driver, "policy")
    driver.set_window_size(*PHONE)
    open_page(driver, f"{served}/dashboard/policies/{policy.id}", "policy-status")
    assert driver.execute_script("return document.documentElement.clientWidth") <= PHONE[0]
    assert driver.execute_script("return document.body.scrollWidth") <= PHONE[0]  # no sideways page
    shoot(driver, "phone")
    driver.set_window_size(*WIDE)

    # the endpoint's attempts: press redeliver, see a new attempt
    open_page(driver, f"{served}/dashboard/endpoints/{endpoint.id}", "attempts")

    def delivered(d: WebDriver) -> int | bool:
        d.refresh()  # deliveries run in the background of a served sandbox
        count = attempt_rows(d)
        return count if count >= 2 else False  # policy.bound and claim.paid

    before = wait(driver).until(delivered)
    assert "200" in driver.find_element(By.ID, "attempts").text
    assert re.search(r"\d+ ms", driver.find_element(By.ID, "attempts").text)
    driver.find_elements(By.CSS_SELECTOR, "button.redeliver")[-1].click()
    assert "scheduled again" in wait(driver).until(ec.presence_of_element_located((By.ID, "done"))).text

    def one_more(d: WebDriver) -> bool:
        d.refresh()
        return attempt_rows(d) == before + 1

    wait(driver).until(one_more)
    last = driver.find_elements(By.CSS_SELECTOR, "#attempts tr.attempt")[-1]
    assert "redelivery" in last.text and "succeeded" in last.text
    shoot(driver, "webhooks")

    # a second key sees none of the first key's objects
    driver.find_element(By.ID, "logout").click()
    wait(driver).until(ec.visibility_of_element_located((By.ID, "key")))
    assert driver.get_cookie("yg_dashboard_key") is None
    sign_in(driver, served, KEY_B)
    open_page(driver, f"{served}/dashboard/policies", "logout")
    assert policy.id not in driver.page_source and "No policies yet." in driver.page_source
    open_page(driver, f"{served}/dashboard/policies/{policy.id}", "error-title")
    assert driver.find_element(By.ID, "error-title").text == "Not found"
