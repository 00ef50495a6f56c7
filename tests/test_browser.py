"""The demo in a real browser, at desktop and phone sizes: a newcomer goes from /start to a
delivered activation code by clicking and typing alone, and staff approve from their own tab.

After every step the newest message and its buttons must be on screen, no word may be broken
across lines and the console must stay clean. On a failure every step's screenshot is written to
test-screenshots/<size>/ (or $BROWSER_SCREENSHOTS).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.browser import DemoProcess, Person, browser_missing, demo, screenshot_dir
from tests.factories import distinct_photo, invoice_jpeg

__all__ = ["demo"]  # the fixture
MISSING = browser_missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"browser tests skipped: {MISSING}")
SERIAL, CHK = "BA9H040230046", "318"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def walk(person: Person, base: str, files: Path) -> None:
    invoice, label = files / "invoice.jpg", files / "label.jpg"
    invoice.write_bytes(invoice_jpeg())
    label.write_bytes(distinct_photo("sn-label"))
    person.open("customer", f"{base}?user=1001")
    assert person.js("return getComputedStyle(document.getElementById('inputbar')).display") == "none"
    person.click("START")
    person.expect("/start", "Privacy policy")
    person.click("✅ I agree")
    person.expect("consent", "e-mail address")
    person.type("alice@example.com")
    person.expect("e-mail", "6-digit code")
    person.open(
        "mailbox", urljoin(base, "/mailbox?address=alice@example.com"), "return document.readyState == 'complete'"
    )
    found = person.wait(lambda: re.search(r"\b(\d{6})\b", person.js("return document.body.innerText")), "the code mail")
    person.tab("customer")
    person.type(found.group(1))
    person.expect("e-mail code", "first name")
    person.type("Alice")
    person.expect("first name", "last name")
    person.type("Smith")
    person.expect("last name", "Where do you live")
    person.click("Singapore")
    person.expect("country", "share the number")
    number = person.share_number()
    person.expect("phone", "newsletter")
    assert "Number saved" in person.text_of_log()
    assert re.fullmatch(r"\+\d{8,15}", number), number
    person.click("No, thanks")
    person.expect("profile", "Your profile is saved")

    person.js("document.getElementById('kbtoggle').click()")  # the keyboard folds away and comes back
    assert person.js("return getComputedStyle(document.getElementById('replykb')).display") == "none"
    person.js("document.getElementById('kbtoggle').click()")
    person.click("📝 Register a product")
    person.expect("register", "Which kind of product")
    person.click("Monitor")
    person.expect("category", "serial number")
    person.type(SERIAL)
    person.expect("serial", "Is this your product", "PRO MP241")
    person.click("✅ Yes, that's mine")
    person.expect("product", "CHK")
    person.type(CHK)
    person.expect("chk", "where did you buy it")
    person.click("Singapore")
    person.expect("region", "Choose the store")
    person.click("Courts")
    person.expect("store", "When did you buy it")
    person.click("Yesterday")
    person.expect("date", "where did you purchase")
    person.click("Online retailer")
    person.expect("channel", "invoice")
    person.attach_photo(invoice)
    person.expect("invoice photo", "Type the invoice number")
    person.type("INV-2026-0042")
    person.expect("invoice number", "Please check your registration")
    person.click("✅ Confirm")
    person.expect("registered", "is registered")

    person.menu("/redeem")
    person.expect("redeem", "Tick the products")
    person.click(f"▫️ PRO MP241 ({SERIAL})")
    person.expect("tick", f"✅ PRO MP241 ({SERIAL})")
    person.click("➡️ Next")
    person.expect("next", "serial-number label")
    person.attach_photo(label)
    person.expect("label photo", "lucky draw")
    person.click("No")
    person.expect("lucky draw", "Please check your redemption")
    person.click("✅ Redeem")
    sent = person.expect("sent", "Order ID")
    order = re.search(r"Order ID: (\w+)", sent)
    assert order is not None, sent

    person.js("document.getElementById('log').scrollTop = 0")  # reading back: new messages must not pull
    person.open("staff", f"{base}?chat=-1009001&user=9001")
    person.expect("review card", f"Claim {order.group(1)}", "Approve")
    person.click("✅ Approve")
    person.expect("approved card", "Approved")

    person.tab("customer")  # never reloaded: the code arrives through the page's long poll
    person.wait(lambda: "activation code" in person.last_text(), "the code in the customer's tab")
    assert person.js("return document.getElementById('log').scrollTop") == 0, "the view jumped while reading back"
    person.wait(lambda: person.js("return !document.getElementById('pill').hidden"), "the new-messages pill")
    person.js("document.getElementById('pill').click()")
    delivered = person.expect("code delivered", "approved", "activation code")
    assert re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}", delivered), delivered

    person.open("side", f"{base}?side=1001")  # customer and staff group in one window
    frames = person.js("return [...document.querySelectorAll('iframe')].map((f) => f.getAttribute('src'))")
    assert frames == ["?user=1001", "?chat=-1009001&user=9001"], frames
    for index, needle in enumerate(("activation code", "Approved")):
        person.driver.switch_to.frame(index)
        person.wait(lambda needle=needle: needle in person.text_of_log(), f"{needle!r} in frame {index}")
        person.driver.switch_to.default_content()
    person.check_console("side by side")


@pytest.mark.parametrize("size", list(SIZES))
def test_newcomer_goes_from_start_to_a_delivered_code(size: str, demo: DemoProcess, tmp_path: Path) -> None:
    person = Person(*SIZES[size], screenshot_dir(size))
    try:
        walk(person, demo.url, tmp_path)
    except BaseException:
        shots = person.save_screenshots()
        print(f"screenshots of each step: {shots}")
        raise
    finally:
        person.quit()
