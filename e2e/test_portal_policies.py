"""The portal's Policies page in Chromium: an operator adds a rule, a bad rule is refused with
the store's message and nothing stored, and a deleted rule is gone, each read back through
`/v1/policies` (the same `PolicyStore` behind both)."""

from __future__ import annotations

import json

from playwright.sync_api import Page

from conftest import Vault, http
from sdk_support import IdentityApp
from test_portal import sign_in


def rules(vault: Vault, app: IdentityApp) -> list[dict]:
    status, body = http("GET", f"{vault.url}/v1/policies", headers={"Authorization": f"Bearer {app.key}"})
    assert status == 200, body
    return json.loads(body)["rules"]


def test_an_operator_adds_refuses_and_deletes_rules_on_the_policies_page(vault: Vault, page: Page) -> None:
    app = IdentityApp(vault, "Portal policies app")
    sign_in(page, vault)
    base = f"{vault.url}/portal/apps/{app.app_id.lower()}/policies"
    page.goto(base)
    assert "No rules: every call is allowed." in page.inner_text("main")

    page.select_option("#rule-kind", "ip_allowlist")
    page.select_option("#rule-scope", "app")
    page.fill("#rule-settings", '{"cidrs": ["10.0.0.0/8"]}')
    page.fill("#rule-description", "office network only")
    page.click("text=Add rule")
    page.wait_for_selector(".notice")
    assert "The rule is added" in page.inner_text(".notice")
    [added] = rules(vault, app)
    assert (added["kind"], added["scope"], added["settings"], added["description"]) == (
        "ip_allowlist", "app", {"cidrs": ["10.0.0.0/8"]}, "office network only")
    assert "office network only" in page.inner_text(f"#rule-{added['id']}")

    # Refused by the store's own checks: settings that are not an object, then a bad range.
    for settings, message in [("[1, 2]", "settings must be a JSON object"), ('{"cidrs": ["10.0.0.0/33"]}', "is not an IPv4/IPv6 address or CIDR range")]:
        page.select_option("#rule-kind", "ip_allowlist")
        page.fill("#rule-settings", settings)
        with page.expect_response(lambda r: r.request.method == "POST" and r.url == base) as answer:
            page.click("text=Add rule")
        assert answer.value.status == 400
        assert message in page.inner_text(".error"), page.inner_text(".error")
        assert len(rules(vault, app)) == 1

    page.goto(base)
    page.click(f"#rule-{added['id']} button")
    page.wait_for_selector(".notice")
    assert "The rule is deleted" in page.inner_text(".notice")
    assert rules(vault, app) == []
