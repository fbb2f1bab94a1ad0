"""The web demo in a real browser: headless Chromium (Debian's chromium + chromium-driver)
driven by selenium loads the page, types a caption, clicks Generate and gets audio back.

Marked `browser`; skipped where chromium, chromedriver or selenium is missing (.ci/run
installs them). Run alone with `python -m pytest -q -m browser`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip("needs chromium and chromedriver (apt-get install chromium chromium-driver)",
                allow_module_level=True)  # fmt: skip
pytest.importorskip("gradio", reason="the web demo needs the demo extra")
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from maskgmt.app import Limits, start  # noqa: E402
from maskgmt.pipeline import TextToMusic  # noqa: E402


class FastPipe:
    """The shipped model with two steps per level unless asked otherwise: the page's default
    settings then make a second of audio in well under a second."""

    def __init__(self, pipe: TextToMusic) -> None:
        self.pipe = pipe

    def __getattr__(self, name: str):
        return getattr(self.pipe, name)

    def generate(self, texts, **kwargs):
        return self.pipe.generate(texts, **{"steps": 2, **kwargs})


# every <audio> on the page, inside shadow roots too (the player may keep one there)
AUDIO_SOURCES = """
const found = [];
const walk = (root) => root.querySelectorAll('*').forEach((el) => {
  if (el.tagName === 'AUDIO' && el.src) found.push(el.src);
  if (el.shadowRoot) walk(el.shadowRoot);
});
walk(document.querySelector('#result') || document);
return found;
"""


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    pipe = TextToMusic.from_pretrained()  # the shipped model
    server = start(FastPipe(pipe), limits=Limits(max_seconds=4.0))
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1600"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(DRIVER), options=options)
    yield driver
    driver.quit()


def test_type_a_caption_click_generate_and_get_audio(url: str, browser) -> None:
    wait = WebDriverWait(browser, 300)
    t0 = time.perf_counter()
    browser.get(url)
    caption = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#caption textarea")))
    caption.send_keys("A slow, soft cello plays a chorale in D minor, 4/4 time, pitched low.")
    seconds = browser.find_element(By.CSS_SELECTOR, "#seconds input[type=number]")
    seconds.clear()
    seconds.send_keys("1")
    browser.find_element(By.ID, "generate").click()

    sources = WebDriverWait(browser, 300).until(lambda d: d.execute_script(AUDIO_SOURCES))
    assert any(src.startswith(("http", "blob:")) for src in sources), sources
    timings = browser.find_element(By.ID, "timings").text
    assert "real time" in timings and "1.00 s" in timings
    print(f"browser: page to audio in {time.perf_counter() - t0:.1f} s")
