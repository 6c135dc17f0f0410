"""A real browser (headless Debian Chromium, driven by Selenium) uses the site."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import BASE, LiveServer, load_shared_records

SEED_TITLE = "Stakeholder Engagement Focus Groups on Digital Mental Health and Peer Support, 2022"
SEED_TITLE_SLUG = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail("Chromium and ChromeDriver are needed (Debian: apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ):
        options.add_argument(flag)
    # Chromium keeps its profile and singleton socket under TMPDIR: a pytest folder, not /tmp.
    scratch = tmp_path_factory.mktemp("chromium")
    options.add_argument(f"--user-data-dir={scratch / 'profile'}")
    service = Service(driver_path, env={**os.environ, "TMPDIR": str(scratch)})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    store = tmp_path_factory.mktemp("browser") / "store"
    load_shared_records(store, BASE)
    live = LiveServer(store)
    yield live
    live.stop()


def test_search_then_follow_a_keyword_to_a_study(browser, site):
    from selenium.webdriver.common.by import By

    browser.get(site.url + "/")
    assert "Research studies" in browser.find_element(By.TAG_NAME, "h1").text
    facets = browser.find_elements(By.CSS_SELECTOR, ".facet[data-facet=keyword] li")
    assert facets, "the home page shows keyword facet counts"

    box = browser.find_element(By.ID, "home-q")
    box.send_keys("peer support")
    box.submit()
    assert "/items?q=peer+support" in browser.current_url
    hits = browser.find_elements(By.CSS_SELECTOR, "ol.hits li a")
    assert hits and hits[0].text == SEED_TITLE

    hits[0].click()
    assert browser.find_element(By.TAG_NAME, "h1").text == SEED_TITLE
    browser.find_element(By.LINK_TEXT, "mental health").click()
    assert browser.current_url.endswith("/keywords/mental-health")
    assert browser.find_element(By.TAG_NAME, "h1").text == "mental health"

    browser.find_element(By.LINK_TEXT, SEED_TITLE).click()
    assert browser.find_element(By.TAG_NAME, "h1").text == SEED_TITLE
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "Economic and Social Research Council" in text
    assert "2022-08-19 – 2022-12-01" in text
    assert browser.find_element(By.LINK_TEXT, "10.5255/UKDA-SN-856193").get_attribute("href") == "https://doi.org/10.5255/UKDA-SN-856193"


def test_the_query_page_runs_a_query_from_the_editor_with_ctrl_enter(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site.url + "/sparql")
    assert browser.find_element(By.TAG_NAME, "h1").text == "SPARQL"
    assert browser.find_elements(By.CSS_SELECTOR, "ul.examples li a"), "example queries are listed"
    editor = browser.find_element(By.ID, "query")
    editor.clear()
    editor.send_keys(
        "PREFIX dct: <http://purl.org/dc/terms/>\n"
        f'SELECT ?study WHERE {{ ?study dct:title "{SEED_TITLE}" }}'
    )
    editor.send_keys(Keys.CONTROL, Keys.ENTER)
    WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "section.results table")))
    cells = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "section.results td")]
    assert cells == [f"{BASE}/items/{SEED_TITLE_SLUG}#id"]
    assert "format=html" in browser.current_url
    downloads = [link.text for link in browser.find_elements(By.CSS_SELECTOR, "section.results p a")]
    assert downloads == ["JSON", "XML", "CSV", "TSV"]


def test_from_the_quality_page_to_the_studies_breaking_a_rule_and_its_shape(browser, site):
    from selenium.webdriver.common.by import By

    browser.get(site.url + "/")
    browser.find_element(By.LINK_TEXT, "Quality").click()
    assert browser.current_url.endswith("/validation")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Validation"
    # The shared records break no mandatory rule; 25 of them name no licence.
    assert "No study breaks a mandatory rule." in browser.find_element(By.TAG_NAME, "main").text
    row = browser.find_element(By.XPATH, "//tr[td/code[text()='Google-license']]")
    count = row.find_element(By.XPATH, "td[3]/a")
    assert count.text == "25"
    count.click()
    assert "rule=Google-license" in browser.current_url
    assert len(browser.find_elements(By.CSS_SELECTOR, "ol.hits li a")) == 20  # the first page of 25
    browser.back()
    browser.find_element(By.XPATH, "//tr[td/code[text()='Google-license']]/td[1]/a").click()
    assert browser.current_url.endswith("/shapes#Google-license")
    assert "Google recommends one licence" in browser.find_element(By.ID, "Google-license").text
